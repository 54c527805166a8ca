import { BerthError } from '../oci/errors.js';
import type { ImageConfig } from '../oci/image-config.js';
import { type Descriptor, imageIndexSchema, imageManifestSchema } from '../oci/manifest.js';
import { isIndexMediaType } from '../oci/media-types.js';
import { choosePlatform, formatPlatform, hostPlatform, parsePlatform } from './platform.js';
import type { ImageSource, ManifestBlob } from './sources/image-source.js';

/** The image a reference names, resolved to one platform when it is an index. */
export async function resolveImage(
  source: ImageSource,
  platform: string | undefined,
): Promise<{ top: ManifestBlob; image: ManifestBlob; platforms: string[] }> {
  const top = await source.topManifest();
  if (!isIndexMediaType(top.mediaType)) return { top, image: top, platforms: [] };
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

/** An image manifest's config (parsed when it is JSON), its layers and annotations. */
export async function readImageConfig(
  source: ImageSource,
  image: ManifestBlob,
): Promise<{
  descriptor: Descriptor;
  config: ImageConfig;
  layers: Descriptor[];
  annotations: Record<string, string>;
}> {
  let manifest: ReturnType<typeof imageManifestSchema.parse>;
  try {
    manifest = imageManifestSchema.parse(JSON.parse(image.bytes.toString('utf8')));
  } catch {
    throw new BerthError('MANIFEST_INVALID', `${source.description}: the manifest is not an image manifest`);
  }
  const parts: Buffer[] = [];
  for await (const chunk of await source.openBlob(manifest.config)) parts.push(chunk as Buffer);
  let config: ImageConfig = {};
  try {
    config = JSON.parse(Buffer.concat(parts).toString('utf8')) as ImageConfig;
  } catch {
    // An artifact's config need not be JSON of an image.
  }
  return {
    descriptor: manifest.config,
    config,
    layers: manifest.layers,
    annotations: (manifest as { annotations?: Record<string, string> }).annotations ?? {},
  };
}
