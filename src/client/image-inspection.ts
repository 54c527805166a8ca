import type { ImageConfig } from '../oci/image-config.js';
import type { ImageLocation } from './image-location.js';
import { readImageConfig, resolveImage } from './image-resolution.js';
import { withImageSource } from './image-source-scope.js';
import type { SessionSettings } from './session-settings.js';

export interface InspectOptions {
  location: ImageLocation;
  session: SessionSettings;
  platform?: string | undefined;
}

/** What `berth inspect` shows of an image (its `--json` form). */
export interface ImageInspection {
  name: string;
  digest: string;
  mediaType: string;
  /** The platforms of an index, and the digest of the one shown. */
  platforms?: string[];
  platformDigest?: string;
  os: string | undefined;
  architecture: string | undefined;
  variant?: string;
  created: string | undefined;
  labels: Record<string, string>;
  env: string[];
  entrypoint: string[] | null;
  cmd: string[] | null;
  config: { digest: string; mediaType: string; size: number };
  layers: { digest: string; mediaType: string; size: number }[];
  /** Manifest, config and layers, in bytes. */
  size: number;
}

/** The top manifest's bytes, as stored (`--raw`). */
export async function readRawManifest(location: ImageLocation, session: SessionSettings): Promise<Buffer> {
  return withImageSource(location, session, async (source) => (await source.topManifest()).bytes);
}

/** The image config JSON of the chosen platform (`--config`). */
export async function readConfigOf(options: InspectOptions): Promise<ImageConfig> {
  return withImageSource(options.location, options.session, async (source) => {
    const { image } = await resolveImage(source, options.platform);
    return (await readImageConfig(source, image)).config;
  });
}

/** An image's manifest, platforms, config, labels, layers and sizes. */
export async function inspectImage(options: InspectOptions): Promise<ImageInspection> {
  return withImageSource(options.location, options.session, async (source) => {
    const { top, image, platforms } = await resolveImage(source, options.platform);
    const { descriptor, config, layers } = await readImageConfig(source, image);
    const total = layers.reduce((sum, l) => sum + l.size, 0) + descriptor.size + image.bytes.length;
    return {
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
  });
}

/** One step of an image's build, as `berth history` shows it. */
export interface HistoryRow {
  created: string;
  createdBy: string;
  size: number;
  layer: string | null;
  emptyLayer: boolean;
  comment: string;
}

/** How the image was built, newest step first, each with the layer it made (like `docker history`). */
export async function imageHistory(options: InspectOptions): Promise<HistoryRow[]> {
  return withImageSource(options.location, options.session, async (source) => {
    const { image } = await resolveImage(source, options.platform);
    const { config, layers } = await readImageConfig(source, image);
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
    return rows.reverse();
  });
}
