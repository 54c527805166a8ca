import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseImageLocation } from '../client/image-location.js';
import { BerthError } from '../oci/errors.js';
import type { ImageReference } from '../oci/reference.js';
import { addClientOptions, type ClientFlags, sessionSettings } from './client-options.js';
import { asGateCommand, GATE_ERROR, onAction } from './exit-status.js';
import { formatInventoryTable } from './output/inventory-table.js';
import { summarizeIssues } from './output/issue-summary.js';
import { withLayerProgress } from './output/layer-progress.js';

interface SbomFlags extends ClientFlags {
  platform?: string;
  format: string;
  output?: string;
  attach?: boolean;
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
    .option(
      '--attach',
      'store the SPDX (default) or CycloneDX document in the registry as an OCI referrer of the image (HOST/REPO:TAG only)',
    )
    .addHelpText(
      'after',
      `
Packages are read from the final filesystem (after whiteouts): a package database a later layer deleted
does not count. Exit status: 0, or 2 when the image cannot be read (a damaged layer is reported and the
rest listed, with status 2).

Examples:
  $ berth sbom docker-archive:app.tar
  $ berth sbom --format spdx-json -o app.spdx.json oci:./layout:v1
  $ berth sbom --format cyclonedx-json registry.example.com/team/app:1.4
  $ berth sbom --attach registry.example.com/team/app:1.4`,
    );
  onAction(addClientOptions(sbom), (raw: string, flags: SbomFlags) =>
    asGateCommand(async () => {
      if (!(FORMATS as readonly string[]).includes(flags.format))
        throw new BerthError('USAGE', `--format: expected ${FORMATS.join(', ')}, got "${flags.format}"`);
      const location = parseImageLocation(raw);
      if (flags.attach && location.transport !== 'docker')
        throw new BerthError('USAGE', '--attach: the image must be in a registry (HOST/REPO:TAG)');
      // An attached SBOM is a standard document: SPDX unless CycloneDX was asked for.
      if (flags.attach && flags.format !== 'cyclonedx-json') flags.format = 'spdx-json';
      // Loaded when the command runs, not at the top: every other command would pay for it at start.
      const { readImageSbom, sbomDocument } = await import('../client/image-sbom.js');
      const sbom = await withLayerProgress((onLayer) =>
        readImageSbom({ location, session: sessionSettings(flags), platform: flags.platform, onLayer }),
      );
      let text: string;
      if (flags.format === 'spdx-json' || flags.format === 'cyclonedx-json')
        text = `${JSON.stringify(sbomDocument(sbom, flags.format), null, 2)}\n`;
      else if (flags.format === 'json')
        text = `${JSON.stringify({ image: { name: sbom.description, digest: sbom.digest, platform: sbom.platform }, ...sbom.inventory }, null, 2)}\n`;
      else text = formatInventoryTable(sbom.inventory);
      if (flags.attach && location.transport === 'docker') {
        const attached = await attachSbom(location.ref, flags, text);
        process.stdout.write(
          `Attached ${flags.format} SBOM ${attached.artifact} to ${attached.image}@${attached.subject} (${attached.via === 'api' ? 'referrers API' : 'tag schema'})\n`,
        );
        if (flags.output) await writeFile(flags.output, text);
      } else if (flags.output) await writeFile(flags.output, text);
      else process.stdout.write(text);
      for (const line of summarizeIssues(sbom.issues)) process.stderr.write(`berth: ${line}\n`);
      return sbom.incomplete ? GATE_ERROR : 0;
    }),
  );
}

async function attachSbom(ref: ImageReference, flags: SbomFlags, text: string) {
  const { attachArtifact } = await import('../client/image-referrers.js');
  const cyclone = flags.format === 'cyclonedx-json';
  return attachArtifact({
    ref,
    session: sessionSettings(flags),
    document: Buffer.from(text),
    mediaType: cyclone ? 'application/vnd.cyclonedx+json' : 'application/spdx+json',
    artifactType: cyclone ? 'application/vnd.cyclonedx+json' : 'application/spdx+json',
  });
}
