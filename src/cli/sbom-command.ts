import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { examineImage } from '../client/image-examination.js';
import { BerthError } from '../oci/errors.js';
import { summarizeIssues } from '../scan/issue-summary.js';
import { formatInventoryTable, toCycloneDxJson, toSpdxJson } from '../scan/sbom/sbom-document.js';
import { addClientOptions, type ClientFlags } from './client-options.js';
import { GATE_ERROR, runGateCommand } from './gate-command.js';
import { withImageSource } from './image-source-scope.js';
import { withLayerProgress } from './layer-progress.js';
import { BERTH_VERSION } from './scan-command.js';

interface SbomFlags extends ClientFlags {
  platform?: string;
  format: string;
  output?: string;
}

const FORMATS = ['table', 'spdx-json', 'cyclonedx-json', 'json'] as const;

export function registerSbomCommand(program: Command): void {
  const sbom = program
    .command('sbom')
    .argument(
      '<image>',
      'docker-archive:PATH, oci:DIR[:TAG], oci-archive:PATH, docker-daemon:NAME, HOST/REPO:TAG',
    )
    .description(
      'list the software installed in the image (dpkg, apk, rpm, npm, Python, Go binaries) as a table, SPDX 2.3 or CycloneDX 1.5',
    )
    .option(
      '--platform <os/arch[/variant]>',
      "which image of a multi-platform index (default: this machine's)",
    )
    .option('--format <format>', `${FORMATS.join(', ')} (json: Berth's own inventory model)`, 'table')
    .option('-o, --output <file>', 'write the document to a file instead of standard output')
    .addHelpText(
      'after',
      `
Packages are read from the final filesystem (after whiteouts): a package database a later layer deleted
does not count. Exit status: 0, or 2 when the image cannot be read (a damaged layer is reported and the
rest listed, with status 2).

Examples:
  $ berth sbom docker-archive:app.tar
  $ berth sbom --format spdx-json -o app.spdx.json oci:./layout:v1
  $ berth sbom --format cyclonedx-json registry.example.com/team/app:1.4`,
    );
  addClientOptions(sbom).action(async (raw: string, flags: SbomFlags) => {
    await runGateCommand(async () => {
      if (!(FORMATS as readonly string[]).includes(flags.format))
        throw new BerthError('USAGE', `--format: expected ${FORMATS.join(', ')}, got "${flags.format}"`);
      await withImageSource(raw, flags, async (source) => {
        const exam = await withLayerProgress((onLayer) =>
          examineImage(source, {
            onLayer,
            inventory: true,
            ...(flags.platform ? { platform: flags.platform } : {}),
          }),
        );
        const inventory = exam.inventory ?? { packages: [], issues: [] };
        inventory.issues = exam.issues;
        const created = exam.config.created ? new Date(exam.config.created) : undefined;
        const image = {
          name: exam.description.replace(/^docker:\/\//, ''),
          digest: exam.digest,
          toolVersion: BERTH_VERSION,
          ...(created && !Number.isNaN(created.getTime()) ? { created } : {}),
        };
        let text: string;
        if (flags.format === 'spdx-json') text = `${JSON.stringify(toSpdxJson(inventory, image), null, 2)}\n`;
        else if (flags.format === 'cyclonedx-json')
          text = `${JSON.stringify(toCycloneDxJson(inventory, image), null, 2)}\n`;
        else if (flags.format === 'json')
          text = `${JSON.stringify({ image: { name: exam.description, digest: exam.digest, platform: exam.platform }, ...inventory }, null, 2)}\n`;
        else text = formatInventoryTable(inventory);
        if (flags.output) await writeFile(flags.output, text);
        else process.stdout.write(text);
        for (const line of summarizeIssues(exam.issues)) process.stderr.write(`berth: ${line}\n`);
        if (exam.incomplete) process.exitCode = GATE_ERROR;
      });
    });
  });
}
