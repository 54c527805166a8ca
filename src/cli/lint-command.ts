import type { Command } from 'commander';
import { parseImageLocation } from '../client/image-location.js';
import { BerthError } from '../oci/errors.js';
import { addClientOptions, type ClientFlags, sessionSettings } from './client-options.js';
import { asGateCommand, GATE_REFUSED, onAction } from './exit-status.js';
import { formatAdmissionReport } from './output/admission-report.js';
import { withLayerProgress } from './output/layer-progress.js';

interface LintFlags extends ClientFlags {
  policy: string;
  platform?: string;
  db?: string;
  json?: boolean;
  warnOnly?: boolean;
}

/** The registry reference a DEST argument names, for naming rules. */
export function destinationReference(raw: string) {
  const location = parseImageLocation(raw);
  if (location.transport !== 'docker')
    throw new BerthError(
      'USAGE',
      `destination ${raw}: naming rules apply to registry references (HOST/PROJECT/IMAGE:TAG), not ${location.transport}:`,
    );
  return location.ref;
}

export function registerLintCommand(program: Command): void {
  const lint = program
    .command('lint')
    .argument('<image>', 'the image to check: docker-archive:PATH, oci:DIR[:TAG], HOST/REPO:TAG, …')
    .argument('[destination]', 'where it would be pushed (HOST/PROJECT/IMAGE:TAG), for the naming rules')
    .description('check an image against an admission policy without pushing it')
    .requiredOption('--policy <file>', 'the policy file (YAML; see docs/policy.md)')
    .option(
      '--platform <os/arch[/variant]>',
      "which image of a multi-platform index (default: this machine's)",
    )
    .option(
      '--db <path>',
      'the advisory database, for vulnerability rules (default: BERTH_ADVISORY_DB or the data folder)',
    )
    .option('--warn-only', 'report failures but exit 0')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Exit status: 0 the image passes, 1 a check failed, 2 the image or the policy could not be read.

Examples:
  $ berth lint --policy policy.yaml docker-archive:app.tar registry.example.com/prod/app:1.4.2
  $ berth lint --policy policy.yaml --json oci:./layout:v1`,
    );
  onAction(addClientOptions(lint), (raw: string, destRaw: string | undefined, flags: LintFlags) =>
    asGateCommand(async () => {
      const destination = destRaw ? destinationReference(destRaw) : undefined;
      // Loaded when the command runs, not at the top: every other command would pay for it at start.
      const [{ lintImage }, { advisoryDbPath }] = await Promise.all([
        import('../client/image-lint.js'),
        import('../main/advisory-db-path.js'),
      ]);
      const { image, report } = await withLayerProgress((onLayer) =>
        lintImage({
          location: parseImageLocation(raw),
          session: sessionSettings(flags),
          policyFile: flags.policy,
          destination,
          platform: flags.platform,
          advisoryDb: advisoryDbPath(flags),
          warnOnly: flags.warnOnly === true,
          onLayer,
        }),
      );
      if (flags.json) process.stdout.write(`${JSON.stringify({ image, ...report }, null, 2)}\n`);
      else process.stdout.write(`${image}\n${formatAdmissionReport(report)}`);
      return report.refused ? GATE_REFUSED : 0;
    }),
  );
}
