import { createReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { type Digest, digestAlgorithm, digestHex, digestOf } from '../../oci/digest.js';
import { BerthError } from '../../oci/errors.js';
import { type Descriptor, imageIndexSchema, imageManifestSchema } from '../../oci/manifest.js';
import { isImageManifestMediaType, isIndexMediaType, MediaType } from '../../oci/media-types.js';
import type { ImageSource, ManifestBlob, OpenBlobOptions } from './image-source.js';
import { openTarArchive, type TarArchive } from './tar-archive.js';
import { verifyBlobStream } from './verified-blob-stream.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
// The limit registries put on manifests (CNCF Distribution, containerd): index.json is no bigger in practice.
const MANIFEST_LIMIT = 4 * 1024 * 1024;
const INDEX_JSON_LIMIT = 16 * 1024 * 1024;

/** The files of an OCI image layout, whether in a folder or inside a tar. Paths are layout-relative. */
interface LayoutFiles {
  /** A whole small file, or undefined when absent; `TOO_LARGE` when over `limit`. */
  read(path: string, limit: number): Promise<Buffer | undefined | 'TOO_LARGE'>;
  /** A file's size, or undefined when absent. */
  size(path: string): Promise<number | undefined>;
  open(path: string): Readable;
  close(): Promise<void>;
}

function folderFiles(dir: string): LayoutFiles {
  return {
    async read(path, limit) {
      let handle: FileHandle;
      try {
        handle = await open(join(dir, path), 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      try {
        const { size } = await handle.stat();
        if (size > limit) return 'TOO_LARGE';
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    },
    async size(path) {
      try {
        const info = await stat(join(dir, path));
        return info.isFile() ? info.size : undefined;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    open(path) {
      return createReadStream(join(dir, path), { highWaterMark: 1024 * 1024 });
    },
    async close() {},
  };
}

function archiveFiles(archive: TarArchive): LayoutFiles {
  return {
    async read(path, limit) {
      const entry = archive.findFile(path, 'file');
      if (!entry) return undefined;
      if (entry.size > limit) return 'TOO_LARGE';
      return archive.read(entry, limit, path);
    },
    async size(path) {
      return archive.findFile(path, 'blob')?.size;
    },
    open(path) {
      return archive.open(archive.file(path, 'blob'));
    },
    close: () => archive.close(),
  };
}

function blobPath(digest: Digest): string {
  return `blobs/${digestAlgorithm(digest)}/${digestHex(digest)}`;
}

function describeRefs(manifests: Descriptor[]): string {
  const refs = manifests.map((m) => m.annotations?.[REF_NAME]).filter((r): r is string => r !== undefined);
  return refs.length > 0 ? refs.map((r) => `"${r}"`).join(', ') : 'no tags';
}

/** The media type of manifest bytes: their own `mediaType`, else what a descriptor said, else their shape. */
function manifestMediaType(json: Record<string, unknown>, described: string | undefined): string | undefined {
  if (typeof json.mediaType === 'string') return json.mediaType;
  if (described) return described;
  if (Array.isArray(json.manifests)) return MediaType.ociIndex;
  if (json.config !== undefined) return MediaType.ociManifest;
  return undefined;
}

class OciLayoutSource implements ImageSource {
  /** Media types of manifests as index descriptors give them, for manifests without a `mediaType` field. */
  private readonly describedTypes = new Map<Digest, string>();

  constructor(
    readonly description: string,
    private readonly files: LayoutFiles,
    private readonly top: Descriptor,
  ) {
    this.describedTypes.set(top.digest, top.mediaType);
  }

  topManifest(): Promise<ManifestBlob> {
    return this.readManifest(this.top.digest, this.top.size);
  }

  manifest(digest: Digest): Promise<ManifestBlob> {
    return this.readManifest(digest, undefined);
  }

  private async readManifest(digest: Digest, expectedSize: number | undefined): Promise<ManifestBlob> {
    const bytes = await this.files.read(blobPath(digest), MANIFEST_LIMIT);
    if (bytes === undefined) {
      throw new BerthError('MANIFEST_NOT_FOUND', `${this.description}: no manifest ${digest} in the layout`);
    }
    if (bytes === 'TOO_LARGE') {
      throw new BerthError(
        'MANIFEST_INVALID',
        `${this.description}: manifest ${digest} is over ${MANIFEST_LIMIT} bytes`,
      );
    }
    const actual = digestOf(bytes, digestAlgorithm(digest));
    if (actual !== digest || (expectedSize !== undefined && bytes.length !== expectedSize)) {
      throw new BerthError(
        'BLOB_CORRUPT',
        `${this.description}: manifest ${digest} is corrupt: read ${bytes.length} bytes with digest ${actual}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new BerthError('MANIFEST_INVALID', `${this.description}: manifest ${digest} is not valid JSON`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new BerthError(
        'MANIFEST_INVALID',
        `${this.description}: manifest ${digest} is not a JSON object`,
      );
    }
    const mediaType = manifestMediaType(json as Record<string, unknown>, this.describedTypes.get(digest));
    if (!mediaType) {
      throw new BerthError(
        'MANIFEST_INVALID',
        `${this.description}: cannot tell the media type of manifest ${digest}`,
      );
    }
    const schema = isIndexMediaType(mediaType)
      ? imageIndexSchema
      : isImageManifestMediaType(mediaType)
        ? imageManifestSchema
        : undefined;
    // Other types (artifacts, say) pass as they are; the destination registry decides whether it takes them.
    const parsed = schema?.safeParse(json);
    if (parsed && !parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BerthError(
        'MANIFEST_INVALID',
        `${this.description}: manifest ${digest} is invalid${issue ? ` (${issue.path.join('.') || 'root'}: ${issue.message})` : ''}`,
      );
    }
    if (parsed?.success && 'manifests' in parsed.data) {
      for (const child of parsed.data.manifests) this.describedTypes.set(child.digest, child.mediaType);
    }
    return { bytes, mediaType, digest };
  }

  async openBlob(descriptor: Descriptor, options: OpenBlobOptions = {}): Promise<Readable> {
    const path = blobPath(descriptor.digest);
    const size = await this.files.size(path);
    if (size === undefined) {
      throw new BerthError(
        'BLOB_NOT_FOUND',
        `${this.description}: no blob ${descriptor.digest} in the layout`,
      );
    }
    return verifyBlobStream(this.files.open(path), descriptor, {
      name: `${this.description}: ${path}`,
      ...(options.offset !== undefined ? { offset: options.offset } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.verify === false ? { verify: false } : {}),
    });
  }

  close(): Promise<void> {
    return this.files.close();
  }
}

const ociLayoutFileSchema = z.looseObject({ imageLayoutVersion: z.string() });

async function openLayout(files: LayoutFiles, label: string, tag: string | undefined): Promise<ImageSource> {
  const description = `${label}${tag ? `:${tag}` : ''}`;
  const invalid = (why: string) => new BerthError('LAYOUT_INVALID', `${label}: ${why}`);
  const marker = await files.read('oci-layout', 64 * 1024);
  if (marker === undefined) throw invalid('no oci-layout file: not an OCI image layout');
  if (marker === 'TOO_LARGE') throw invalid('oci-layout file too large');
  let markerJson: unknown;
  try {
    markerJson = JSON.parse(marker.toString('utf8'));
  } catch {
    throw invalid('oci-layout is not valid JSON');
  }
  if (!ociLayoutFileSchema.safeParse(markerJson).success)
    throw invalid('oci-layout has no imageLayoutVersion');

  const indexBytes = await files.read('index.json', INDEX_JSON_LIMIT);
  if (indexBytes === undefined) throw invalid('no index.json');
  if (indexBytes === 'TOO_LARGE') throw invalid(`index.json is over ${INDEX_JSON_LIMIT} bytes`);
  let indexJson: unknown;
  try {
    indexJson = JSON.parse(indexBytes.toString('utf8'));
  } catch {
    throw invalid('index.json is not valid JSON');
  }
  const index = imageIndexSchema.safeParse(indexJson);
  if (!index.success) {
    const issue = index.error.issues[0];
    throw invalid(
      `index.json is invalid${issue ? ` (${issue.path.join('.') || 'root'}: ${issue.message})` : ''}`,
    );
  }
  const { manifests } = index.data;

  let top: Descriptor | undefined;
  if (tag !== undefined) {
    top = manifests.find((m) => m.annotations?.[REF_NAME] === tag);
    if (!top) {
      throw new BerthError(
        'IMAGE_NOT_FOUND',
        `${label}: no image tagged "${tag}" (the layout has ${describeRefs(manifests)})`,
      );
    }
  } else if (manifests.length === 1) {
    top = manifests[0];
  } else if (manifests.length === 0) {
    throw new BerthError('IMAGE_NOT_FOUND', `${label}: the layout holds no image`);
  } else {
    throw new BerthError(
      'IMAGE_AMBIGUOUS',
      `${label}: the layout holds ${manifests.length} images (${describeRefs(manifests)}); name one with :TAG`,
    );
  }
  return new OciLayoutSource(description, files, top as Descriptor);
}

/** Opens an OCI image layout folder (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`). */
export async function openOciLayout(dir: string, tag?: string): Promise<ImageSource> {
  const label = `oci:${dir}`;
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new BerthError('LAYOUT_NOT_FOUND', `${label}: no such folder`);
    throw error;
  });
  if (!info.isDirectory()) throw new BerthError('LAYOUT_INVALID', `${label}: not a folder`);
  return openLayout(folderFiles(dir), label, tag);
}

/**
 * Opens an OCI image layout inside a tar (`skopeo copy … oci-archive:`, `podman save --format oci-archive`),
 * plain or gzip-compressed; blobs are read at their offsets in the tar, nothing is extracted.
 */
export async function openOciArchive(
  path: string,
  tag?: string,
  options: { tempDir?: string } = {},
): Promise<ImageSource> {
  const label = `oci-archive:${path}`;
  const archive = await openTarArchive(path, { label, tempDir: options.tempDir });
  try {
    return await openLayout(archiveFiles(archive), label, tag);
  } catch (error) {
    await archive.close();
    throw error;
  }
}
