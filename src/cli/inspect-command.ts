import type { Command } from 'commander';
import type { ClientSession } from '../client/client-session.js';
import { describeLocation, parseImageLocation } from '../client/image-location.js';
import { choosePlatform, formatPlatform, hostPlatform, parsePlatform } from '../client/platform.js';
import type { ImageSource, ManifestBlob } from '../client/sources/image-source.js';
import { BerthError } from '../oci/errors.js';
import { type Descriptor, imageIndexSchema, imageManifestSchema } from '../oci/manifest.js';
import { isIndexMediaType } from '../oci/media-types.js';
import { formatBytes } from './byte-size.js';
import { addClientOptions, type ClientFlags, openSession, parseBool } from './client-options.js';

interface InspectFlags extends ClientFlags {
  platform?: string;
  json?: boolean;
  raw?: boolean;
  config?: boolean;
}

interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    Labels?: Record<string, string> | null;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, unknown> | null;
  };
  rootfs?: { diff_ids?: string[] };
  history?: {
    created?: string;
    created_by?: string;
    comment?: string;
    empty_layer?: boolean;
    author?: string;
  }[];
}

/** The image a reference names, resolved to one platform when it is an index (unless asked for the index). */
async function resolveImage(source: ImageSource, platform: string | undefined) {
  const top = await source.topManifest();
  if (!isIndexMediaType(top.mediaType)) return { top, image: top, platforms: [] as string[] };
  const index = imageIndexSchema.parse(JSON.parse(top.bytes.toString('utf8')));
  const platforms = index.manifests
    .filter((m) => m.platform)
    .map((m) => formatPlatform(m.platform as NonNullable<Descriptor['platform']>));
  const entry = choosePlatform(
    index.manifests,
    platform ? parsePlatform(platform) : hostPlatform(),
    source.description,
  );
  return { top, image: await source.manifest(entry.digest), platforms };
}

async function readConfig(
  source: ImageSource,
  image: ManifestBlob,
): Promise<{ descriptor: Descriptor; config: ImageConfig; layers: Descriptor[] }> {
  const manifest = imageManifestSchema.parse(JSON.parse(image.bytes.toString('utf8')));
  const parts: Buffer[] = [];
  for await (const chunk of await source.openBlob(manifest.config)) parts.push(chunk as Buffer);
  let config: ImageConfig = {};
  try {
    config = JSON.parse(Buffer.concat(parts).toString('utf8')) as ImageConfig;
  } catch {
    // An artifact's config need not be JSON of an image.
  }
  return { descriptor: manifest.config, config, layers: manifest.layers };
}

async function withSource<T>(
  raw: string,
  flags: ClientFlags,
  run: (source: ImageSource, session: ClientSession) => Promise<T>,
): Promise<T> {
  const location = parseImageLocation(raw);
  const session = await openSession(flags, location.transport === 'docker' ? [location.ref.host] : []);
  if (location.transport === 'docker')
    session.setTlsVerify(location.ref.host, parseBool(flags.tlsVerify, '--tls-verify'));
  let source: ImageSource | undefined;
  try {
    source = await session.openSource(location);
    return await run(source, session);
  } catch (error) {
    if (error instanceof BerthError && !error.message.includes(describeLocation(location))) {
      throw new BerthError(error.code, `${describeLocation(location)}: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    await source?.close().catch(() => {});
    await session.close();
  }
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
    await withSource(raw, flags, async (source) => {
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
    await withSource(raw, flags, async (source) => {
      const { image } = await resolveImage(source, flags.platform);
      const { config, layers } = await readConfig(source, image);
      let layer = 0;
      const rows = (config.history ?? []).map((h) => {
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
      process.stdout.write('LAYER\tCREATED\tCREATED BY\tSIZE\tCOMMENT\n');
      for (const r of rows) {
        process.stdout.write(
          `${r.layer ?? '<missing>'}\t${r.created}\t${r.createdBy}\t${formatBytes(r.size)}\t${r.comment}\n`,
        );
      }
    });
  });
}
