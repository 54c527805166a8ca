import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { type Digest, digestOf, isDigest, parseDigest } from '../../oci/digest.js';
import { BerthError } from '../../oci/errors.js';
import type { Descriptor } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-types.js';
import { DOCKER_LAYER_TAR, type ImageSource, type ManifestBlob } from './image-source.js';
import { isGzip, isZstd, openTarArchive, type TarArchive } from './tar-archive.js';
import type { TarEntry } from './tar-index.js';
import { verifyBlobStream } from './verified-blob-stream.js';

/** Which image of a multi-image archive: by one of its tags, or by its position in manifest.json (from 0). */
export type ArchiveImageSelector = { tag: string } | { index: number };

export interface DockerArchiveOptions {
  /** Where to decompress a gzip-compressed archive (default: the system's temporary folder). */
  tempDir?: string;
}

const MANIFEST_JSON_LIMIT = 16 * 1024 * 1024;
const CONFIG_LIMIT = 64 * 1024 * 1024;

const archiveManifestSchema = z.array(
  z.looseObject({
    Config: z.string(),
    RepoTags: z.array(z.string()).nullish(),
    Layers: z.array(z.string()),
  }),
);
/** One image of a `docker save` archive: an entry of its manifest.json. */
export type ArchiveImage = z.infer<typeof archiveManifestSchema>[number];

const configSchema = z.looseObject({
  rootfs: z.looseObject({
    diff_ids: z.array(z.string().refine(isDigest, 'not a sha256 or sha512 digest')),
  }),
});

/** A blob the archive serves: where its bytes are and what to call it in messages. */
interface ArchiveBlob {
  entry: TarEntry | Buffer;
  what: string;
}

/**
 * `team/app:v1` as Docker shows it: podman and skopeo store `localhost/team/app:v1` and
 * `docker.io/team/app:v1`, Docker stores `team/app:v1`, and `app` means `app:latest`.
 */
export function familiarImageName(name: string): string {
  let familiar = name;
  const lastPart = familiar.slice(familiar.lastIndexOf('/') + 1);
  if (!lastPart.includes(':') && !familiar.includes('@')) familiar += ':latest';
  for (const host of ['docker.io/', 'index.docker.io/', 'localhost/']) {
    if (familiar.startsWith(host)) {
      familiar = familiar.slice(host.length);
      break;
    }
  }
  if (familiar.startsWith('library/') && familiar.split('/').length === 2) familiar = familiar.slice(8);
  return familiar;
}

function listTags(images: ArchiveImage[]): string {
  return images
    .map((image, i) => `@${i}${image.RepoTags?.length ? ` (${image.RepoTags.join(', ')})` : ''}`)
    .join(', ');
}

/** The position in manifest.json of the image `selector` names; `label` names the archive in errors. */
export function selectArchiveImage(
  images: ArchiveImage[],
  selector: ArchiveImageSelector | undefined,
  label: string,
): number {
  if (images.length === 0) throw new BerthError('IMAGE_NOT_FOUND', `${label}: the archive holds no image`);
  if (selector === undefined) {
    if (images.length === 1) return 0;
    throw new BerthError(
      'IMAGE_AMBIGUOUS',
      `${label}: the archive holds ${images.length} images (${listTags(images)}); name one with :TAG or :@INDEX`,
    );
  }
  if ('index' in selector) {
    if (selector.index < images.length) return selector.index;
    throw new BerthError(
      'IMAGE_NOT_FOUND',
      `${label}: no image @${selector.index}; the archive holds ${images.length}: ${listTags(images)}`,
    );
  }
  const exact = images.findIndex((image) => image.RepoTags?.includes(selector.tag));
  if (exact >= 0) return exact;
  const wanted = familiarImageName(selector.tag);
  const matches = images.flatMap((image, i) =>
    image.RepoTags?.some((tag) => familiarImageName(tag) === wanted) ? [i] : [],
  );
  if (matches.length === 1) return matches[0] as number;
  if (matches.length > 1) {
    throw new BerthError(
      'IMAGE_AMBIGUOUS',
      `${label}: "${selector.tag}" matches several images (${listTags(matches.map((i) => images[i] as ArchiveImage))}); give the full name`,
    );
  }
  throw new BerthError(
    'IMAGE_NOT_FOUND',
    `${label}: no image tagged "${selector.tag}"; the archive holds ${listTags(images)}`,
  );
}

function parseJson<T>(bytes: Buffer, schema: z.ZodType<T>, what: string, label: string): T {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BerthError('ARCHIVE_INVALID', `${label}: ${what} is not valid JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BerthError(
      'ARCHIVE_INVALID',
      `${label}: unexpected ${what}${issue ? ` (${issue.path.join('.') || 'root'}: ${issue.message})` : ''}`,
    );
  }
  return parsed.data;
}

/** `blobs/sha256/<hex>` names its content: the digest a Docker 25+ (containerd) archive gives a gzip layer. */
function digestFromBlobPath(path: string): Digest | undefined {
  const match = /(?:^|\/)blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(path);
  const candidate = match ? `${match[1]}:${match[2]}` : '';
  return isDigest(candidate) ? parseDigest(candidate) : undefined;
}

/**
 * Reads the image the `select` function picks out of an opened `docker save` archive. Exported for the
 * docker-daemon source, which picks differently.
 */
export async function readDockerArchive(
  archive: TarArchive,
  select: (images: ArchiveImage[]) => number,
  description: string,
  onClose: () => Promise<void> = async () => {},
): Promise<ImageSource> {
  const label = archive.label;
  const manifestEntry = archive.findFile('manifest.json', 'manifest.json');
  if (!manifestEntry) {
    throw new BerthError(
      'ARCHIVE_ENTRY_MISSING',
      `${label}: no manifest.json in the archive (not a docker save archive${archive.index.get('index.json') ? '; an OCI archive? use oci-archive:' : ''})`,
    );
  }
  const images = parseJson(
    await archive.read(manifestEntry, MANIFEST_JSON_LIMIT, 'manifest.json'),
    archiveManifestSchema,
    'manifest.json',
    label,
  );
  const image = images[select(images)] as ArchiveImage;

  const configBytes = await archive.read(archive.file(image.Config, 'config'), CONFIG_LIMIT, 'image config');
  const config = parseJson(configBytes, configSchema, `image config ${image.Config}`, label);
  const diffIds = config.rootfs.diff_ids.map((d) => parseDigest(d));
  if (diffIds.length !== image.Layers.length) {
    throw new BerthError(
      'ARCHIVE_INVALID',
      `${label}: the config lists ${diffIds.length} layers (rootfs.diff_ids) but manifest.json ${image.Layers.length}`,
    );
  }

  const blobs = new Map<Digest, ArchiveBlob>();
  const configDescriptor = {
    mediaType: MediaType.dockerConfig,
    size: configBytes.length,
    digest: digestOf(configBytes),
  };
  blobs.set(configDescriptor.digest, { entry: configBytes, what: `config ${image.Config}` });

  const layers: { mediaType: string; size: number; digest: Digest }[] = [];
  for (const [i, path] of image.Layers.entries()) {
    const entry = archive.file(path, 'layer');
    const head = await archive.peek(entry, 4);
    let mediaType = DOCKER_LAYER_TAR;
    let digest = diffIds[i] as Digest;
    if (isZstd(head)) {
      throw new BerthError(
        'ARCHIVE_INVALID',
        `${label}: layer ${path} is zstd-compressed, which is not supported here`,
      );
    }
    if (isGzip(head)) {
      // The digest of a compressed layer is of its compressed bytes, which the diffID is not.
      const named = digestFromBlobPath(path) ?? digestFromBlobPath(entry.name);
      mediaType = MediaType.dockerLayerGzip;
      digest = named ?? (await hashEntry(archive, entry));
    }
    layers.push({ mediaType, size: entry.size, digest });
    blobs.set(digest, { entry, what: `layer ${path}` });
  }

  // Fixed key order, compact JSON: the same archive always gives the same manifest digest (and the same
  // bytes skopeo synthesizes for it, media types aside).
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: configDescriptor,
      layers,
    }),
  );
  const manifest: ManifestBlob = {
    bytes: manifestBytes,
    mediaType: MediaType.dockerManifest,
    digest: digestOf(manifestBytes),
  };

  return {
    description,
    async topManifest() {
      return manifest;
    },
    async manifest(digest) {
      if (digest !== manifest.digest) {
        throw new BerthError('MANIFEST_NOT_FOUND', `${description}: no manifest ${digest} in the archive`);
      }
      return manifest;
    },
    async openBlob(descriptor: Descriptor, options = {}) {
      const blob = blobs.get(descriptor.digest);
      if (!blob)
        throw new BerthError('BLOB_NOT_FOUND', `${description}: no blob ${descriptor.digest} in the image`);
      const raw = Buffer.isBuffer(blob.entry) ? Readable.from([blob.entry]) : archive.open(blob.entry);
      return verifyBlobStream(raw, descriptor, {
        name: `${description}: ${blob.what}`,
        ...(options.offset !== undefined ? { offset: options.offset } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.verify === false ? { verify: false } : {}),
      });
    },
    async close() {
      try {
        await archive.close();
      } finally {
        await onClose();
      }
    },
  };
}

/** The sha256 of an entry, for a compressed layer whose name does not say its digest. */
async function hashEntry(archive: TarArchive, entry: TarEntry): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of archive.open(entry)) hash.update(chunk as Buffer);
  return parseDigest(`sha256:${hash.digest('hex')}`);
}

/**
 * Opens a `docker save` archive (classic `<id>/layer.tar` layout, or the OCI layout Docker 25+ writes, or
 * what `podman save` and `skopeo copy … docker-archive:` write; plain or gzip-compressed) and presents the
 * selected image as a Docker schema 2 manifest of its uncompressed layers.
 */
export async function openDockerArchive(
  path: string,
  image?: ArchiveImageSelector,
  options: DockerArchiveOptions = {},
): Promise<ImageSource> {
  const suffix = image === undefined ? '' : 'tag' in image ? `:${image.tag}` : `:@${image.index}`;
  const label = `docker-archive:${path}`;
  const archive = await openTarArchive(path, { label, tempDir: options.tempDir });
  try {
    return await readDockerArchive(
      archive,
      (images) => selectArchiveImage(images, image, label),
      `${label}${suffix}`,
    );
  } catch (error) {
    await archive.close();
    throw error;
  }
}
