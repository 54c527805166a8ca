import type { Command } from 'commander';
import { runAdmissionGate } from '../client/admission-gate.js';
import { parseImageLocation } from '../client/image-location.js';
import { BerthError } from '../oci/errors.js';
import { formatAdmissionReport } from '../policy/admission-check.js';
import { loadAdmissionPolicy } from '../policy/admission-policy.js';
import type { ClientFlags } from './client-options.js';
import { addClientOptions } from './client-options.js';
import { advisoryDbPath, GATE_REFUSED, runGateCommand } from './gate-command.js';
import { withImageSource } from './image-source-scope.js';
import { withLayerProgress } from './layer-progress.js';

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
  addClientOptions(lint).action(async (raw: string, destRaw: string | undefined, flags: LintFlags) => {
    await runGateCommand(async () => {
      const policy = await loadAdmissionPolicy(flags.policy);
      const destination = destRaw ? destinationReference(destRaw) : undefined;
      await withImageSource(raw, flags, async (source) => {
        const { report } = await withLayerProgress((onLayer) =>
          runAdmissionGate(source, {
            policy,
            onLayer,
            ...(destination ? { destination } : {}),
            ...(flags.platform ? { platform: flags.platform } : {}),
            advisoryDb: advisoryDbPath(flags),
            ...(flags.warnOnly ? { warnOnly: true } : {}),
          }),
        );
        if (flags.json)
          process.stdout.write(`${JSON.stringify({ image: source.description, ...report }, null, 2)}\n`);
        else process.stdout.write(`${source.description}\n${formatAdmissionReport(report)}`);
        if (report.refused) process.exitCode = GATE_REFUSED;
      });
    });
  });
}
