import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { examineImage } from '../client/image-examination.js';
import { BerthError } from '../oci/errors.js';
import {
  filterFindings,
  findingsAtOrAbove,
  formatFindingsTable,
  parseSeverityList,
  type ScanResult,
  toSarif,
} from '../scan/findings-report.js';
import { openAdvisoryDb } from '../scan/osv/advisory-db.js';
import type { Severity } from '../scan/types.js';
import { matchVulnerabilities } from '../scan/vulnerability-matcher.js';
import { addClientOptions, type ClientFlags } from './client-options.js';
import { advisoryDbPath, GATE_ERROR, GATE_REFUSED, runGateCommand } from './gate-command.js';
import { withImageSource } from './image-source-scope.js';
import { withLayerProgress } from './layer-progress.js';
import { scanWithTrivy } from './trivy-scan.js';

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

const FORMATS = ['table', 'json', 'sarif'] as const;

function severities(raw: string, option: string): Severity[] {
  const parsed = parseSeverityList(raw);
  if (typeof parsed === 'string') throw new BerthError('USAGE', `${option}: ${parsed}`);
  return parsed;
}

/** The version Berth reports itself as in SBOMs and SARIF. */
export const BERTH_VERSION = '0.1.0';

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
  addClientOptions(scan).action(async (raw: string, flags: ScanFlags) => {
    await runGateCommand(async () => {
      const format = flags.json ? 'json' : (flags.format ?? 'table');
      if (!(FORMATS as readonly string[]).includes(format))
        throw new BerthError('USAGE', `--format: expected ${FORMATS.join(', ')}, got "${format}"`);
      const only = flags.severity ? severities(flags.severity, '--severity') : undefined;
      const failOn = flags.failOn ? severities(flags.failOn, '--fail-on') : undefined;
      if (failOn && failOn.length !== 1)
        throw new BerthError('USAGE', '--fail-on: give one severity (findings at or above it fail)');
      if (flags.scanner !== 'berth' && flags.scanner !== 'trivy')
        throw new BerthError('USAGE', `--scanner: expected berth or trivy, got "${flags.scanner}"`);
      let result: ScanResult;
      if (flags.scanner === 'trivy') {
        result = await scanWithTrivy(raw);
      } else {
        const db = openAdvisoryDb(advisoryDbPath(flags), { mustExist: true, readonly: true });
        try {
          result = await withImageSource(raw, flags, async (source) => {
            const exam = await withLayerProgress((onLayer) =>
              examineImage(source, {
                onLayer,
                inventory: true,
                ...(flags.platform ? { platform: flags.platform } : {}),
              }),
            );
            const inventory = exam.inventory ?? { packages: [], issues: [] };
            const matched = matchVulnerabilities(inventory.packages, inventory.os, db);
            const status = db.status();
            return {
              image: {
                name: exam.description,
                digest: exam.digest,
                ...(exam.platform ? { platform: exam.platform } : {}),
              },
              scanner: { name: 'berth' as const, version: BERTH_VERSION },
              ...(inventory.os
                ? {
                    os: {
                      id: inventory.os.id,
                      ...(inventory.os.versionId ? { versionId: inventory.os.versionId } : {}),
                      ...(inventory.os.prettyName ? { prettyName: inventory.os.prettyName } : {}),
                    },
                  }
                : {}),
              packages: inventory.packages.length,
              findings: matched.findings,
              issues: [...exam.issues, ...matched.issues],
              database: {
                path: status.path,
                records: status.records,
                ...(status.newestModified ? { newestModified: status.newestModified } : {}),
              },
              incomplete: exam.incomplete,
            };
          });
        } finally {
          db.close();
        }
      }
      const findings = filterFindings(result.findings, {
        ...(only ? { severities: only } : {}),
        ...(flags.ignoreUnfixed ? { ignoreUnfixed: true } : {}),
      });
      const text =
        format === 'json'
          ? `${JSON.stringify({ ...result, findings }, null, 2)}\n`
          : format === 'sarif'
            ? `${JSON.stringify(toSarif(result, findings), null, 2)}\n`
            : formatFindingsTable(result, findings);
      if (flags.output) await writeFile(flags.output, text);
      else process.stdout.write(text);
      const failing = failOn?.[0] ? findingsAtOrAbove(findings, failOn[0]) : [];
      if (result.incomplete) process.exitCode = GATE_ERROR;
      else if (failing.length > 0) {
        process.stderr.write(
          `berth: ${failing.length} finding${failing.length === 1 ? '' : 's'} at or above ${failOn?.[0]}\n`,
        );
        process.exitCode = GATE_REFUSED;
      }
    });
  });
}
