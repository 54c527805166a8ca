import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseImageLocation } from '../client/image-location.js';
import { BerthError } from '../oci/errors.js';
import type { Severity } from '../scan/types.js';
import { addClientOptions, type ClientFlags, sessionSettings } from './client-options.js';
import { asGateCommand, GATE_ERROR, GATE_REFUSED, onAction } from './exit-status.js';
import { withLayerProgress } from './output/layer-progress.js';
import type { ScanFormat } from './output/scan-report.js';

interface ScanFlags extends ClientFlags {
  platform?: string;
  db?: string;
  severity?: string;
  failOn?: string;
  ignoreUnfixed?: boolean;
  format?: string;
  json?: boolean;
  output?: string;
  scanner?: string;
}

export function registerScanCommand(program: Command): void {
  const scan = program
    .command('scan')
    .argument(
      '<image>',
      'docker-archive:PATH, oci:DIR[:TAG], oci-archive:PATH, docker-daemon:NAME, HOST/REPO:TAG',
    )
    .description('find known vulnerabilities in the image, from an offline OSV advisory database')
    .option(
      '--platform <os/arch[/variant]>',
      "which image of a multi-platform index (default: this machine's)",
    )
    .option(
      '--db <path>',
      'the advisory database (default: BERTH_ADVISORY_DB or ~/.local/share/berth/advisories/osv.sqlite)',
    )
    .option('--severity <list>', 'report only these severities, e.g. CRITICAL,HIGH')
    .option('--fail-on <severity>', 'exit 1 when a reported finding is at or above this severity')
    .option('--ignore-unfixed', 'leave out vulnerabilities that have no fixed version yet')
    .option('--format <format>', 'table, json or sarif (SARIF 2.1.0, for code-scanning pages)', 'table')
    .option('--json', 'the same as --format json')
    .option('-o, --output <file>', 'write the report to a file instead of standard output')
    .option(
      '--scanner <name>',
      'berth (built in) or trivy (runs `trivy` from PATH, same report model)',
      'berth',
    )
    .addHelpText(
      'after',
      `
The database is filled by \`berth db update\` (downloads OSV's per-ecosystem archives) or \`berth db import\`
(OSV records you fetched: a per-ecosystem all.zip, a folder or a file); scanning itself needs no network.
Exit status: 0, or 1 with --fail-on when a finding reaches the level, 2 when the image or the database
cannot be read.

Examples:
  $ berth db import ~/Downloads/Debian.zip ~/Downloads/npm.zip
  $ berth scan docker-archive:app.tar
  $ berth scan --severity CRITICAL,HIGH --fail-on HIGH oci:./layout:v1
  $ berth scan --format sarif -o berth.sarif registry.example.com/team/app:1.4`,
    );
  onAction(addClientOptions(scan), (raw: string, flags: ScanFlags) =>
    asGateCommand(async () => {
      // Loaded when the command runs, not at the top: every other command would pay for it at start.
      const [
        { scanImage, selectFindings },
        { advisoryDbPath },
        { parseSeverityList },
        { formatScanReport, SCAN_FORMATS },
      ] = await Promise.all([
        import('../client/scan-image.js'),
        import('../main/advisory-db-path.js'),
        import('../scan/severity.js'),
        import('./output/scan-report.js'),
      ]);
      const severities = (list: string, option: string): Severity[] => {
        const parsed = parseSeverityList(list);
        if (typeof parsed === 'string') throw new BerthError('USAGE', `${option}: ${parsed}`);
        return parsed;
      };
      const format = flags.json ? 'json' : (flags.format ?? 'table');
      if (!(SCAN_FORMATS as readonly string[]).includes(format))
        throw new BerthError('USAGE', `--format: expected ${SCAN_FORMATS.join(', ')}, got "${format}"`);
      const only = flags.severity ? severities(flags.severity, '--severity') : undefined;
      const failOn = flags.failOn ? severities(flags.failOn, '--fail-on') : undefined;
      if (failOn && failOn.length !== 1)
        throw new BerthError('USAGE', '--fail-on: give one severity (findings at or above it fail)');
      const scanner = flags.scanner;
      if (scanner !== 'berth' && scanner !== 'trivy')
        throw new BerthError('USAGE', `--scanner: expected berth or trivy, got "${flags.scanner}"`);
      const result = await withLayerProgress((onLayer) =>
        scanImage({
          location: parseImageLocation(raw),
          session: sessionSettings(flags),
          scanner,
          advisoryDb: scanner === 'berth' ? advisoryDbPath(flags) : '',
          platform: flags.platform,
          onLayer,
        }),
      );
      const { findings, failing } = selectFindings(result, {
        severities: only,
        ignoreUnfixed: flags.ignoreUnfixed,
        failOn: failOn?.[0],
      });
      const text = formatScanReport(format as ScanFormat, result, findings);
      if (flags.output) await writeFile(flags.output, text);
      else process.stdout.write(text);
      if (result.incomplete) return GATE_ERROR;
      if (failing.length > 0) {
        process.stderr.write(
          `berth: ${failing.length} finding${failing.length === 1 ? '' : 's'} at or above ${failOn?.[0]}\n`,
        );
        return GATE_REFUSED;
      }
      return 0;
    }),
  );
}
