import type { Command } from 'commander';
import { readImageConfig as readConfig, resolveImage } from '../client/image-resolution.js';
import { formatBytes } from '../oci/byte-size.js';
import { addClientOptions, type ClientFlags } from './client-options.js';
import { formatHistory, type HistoryRow } from './history-table.js';
import { withImageSource } from './image-source-scope.js';

interface InspectFlags extends ClientFlags {
  platform?: string;
  json?: boolean;
  raw?: boolean;
  config?: boolean;
}

export function registerInspectCommands(program: Command): void {
  const inspect = program
    .command('inspect')
    .argument('<image>', 'docker://HOST/REPO:TAG (or HOST/REPO:TAG), oci:DIR[:TAG], docker-archive:PATH, …')
    .description('show an image: manifest, platforms, config, labels, layers and sizes')
    .option(
      '--platform <os/arch[/variant]>',
      "which image of a multi-platform index (default: this machine's)",
    )
    .option('--raw', 'print the manifest bytes as stored')
    .option('--config', 'print the image config JSON')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ berth inspect registry.example.com/team/app:1.4\n  $ berth inspect --raw docker-archive:app.tar\n  $ berth inspect --json --platform linux/arm64 oci:./layout:v1',
    );
  addClientOptions(inspect).action(async (raw: string, flags: InspectFlags) => {
    await withImageSource(raw, flags, async (source) => {
      if (flags.raw) {
        process.stdout.write((await source.topManifest()).bytes);
        return;
      }
      const { top, image, platforms } = await resolveImage(source, flags.platform);
      const { descriptor, config, layers } = await readConfig(source, image);
      if (flags.config) {
        process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
        return;
      }
      const total = layers.reduce((sum, l) => sum + l.size, 0) + descriptor.size + image.bytes.length;
      const result = {
        name: source.description,
        digest: top.digest,
        mediaType: top.mediaType,
        ...(platforms.length > 0 ? { platforms, platformDigest: image.digest } : {}),
        os: config.os,
        architecture: config.architecture,
        ...(config.variant ? { variant: config.variant } : {}),
        created: config.created,
        labels: config.config?.Labels ?? {},
        env: config.config?.Env ?? [],
        entrypoint: config.config?.Entrypoint ?? null,
        cmd: config.config?.Cmd ?? null,
        config: { digest: descriptor.digest, mediaType: descriptor.mediaType, size: descriptor.size },
        layers: layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size })),
        size: total,
      };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        return;
      }
      const lines = [
        `Name:         ${result.name}`,
        `Digest:       ${result.digest}`,
        `Media type:   ${result.mediaType}`,
        ...(platforms.length > 0
          ? [`Platforms:    ${platforms.join(', ')}`, `Shown:        ${image.digest}`]
          : []),
        `Platform:     ${result.os ?? '?'}/${result.architecture ?? '?'}${config.variant ? `/${config.variant}` : ''}`,
        `Created:      ${result.created ?? '-'}`,
        `Size:         ${formatBytes(total)} (${layers.length} layers)`,
        'Labels:',
        ...Object.entries(result.labels).map(([k, v]) => `  ${k}=${v}`),
        'Layers:',
        ...layers.map((l) => `  ${l.digest}  ${formatBytes(l.size).padStart(10)}  ${l.mediaType}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  });

  const history = program
    .command('history')
    .argument('<image>', 'an image reference, as for inspect')
    .description('show how the image was built, layer by layer (like `docker history --no-trunc`)')
    .option('--platform <os/arch[/variant]>', 'which image of a multi-platform index')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  $ berth history registry.example.com/team/app:1.4');
  addClientOptions(history).action(async (raw: string, flags: InspectFlags) => {
    await withImageSource(raw, flags, async (source) => {
      const { image } = await resolveImage(source, flags.platform);
      const { config, layers } = await readConfig(source, image);
      let layer = 0;
      const rows = (config.history ?? []).map((h): HistoryRow => {
        const empty = h.empty_layer === true;
        const l = empty ? undefined : layers[layer++];
        return {
          created: h.created ?? '',
          createdBy: h.created_by ?? '',
          size: l ? l.size : 0,
          layer: l?.digest ?? null,
          emptyLayer: empty,
          comment: h.comment ?? '',
        };
      });
      rows.reverse();
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      process.stdout.write(formatHistory(rows, { terminal: process.stdout.isTTY === true }));
    });
  });
}
