import { createHash } from 'node:crypto';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { extract as tarExtract } from 'tar-stream';
import { GO_BUILDINFO_MAGIC } from './sbom/go-reader.js';
import type { EntryType, ScanIssue } from './types.js';

/** One entry of one layer, as the tar stream declares it (whiteout markers are not entries). */
export interface LayerEntry {
  /** Absolute, normalized: `/usr/bin/env`. */
  path: string;
  type: EntryType;
  mode: number;
  /** Bytes of content (0 for anything but a regular file). */
  size: number;
  uid: number;
  gid: number;
  /** Symlink target as written, or the normalized absolute target of a hard link. */
  linkname?: string;
  /** sha256 of the content, when hashing was asked for. */
  hash?: string;
  /** The file's bytes, when `keepContent` wanted them. */
  content?: Buffer;
  /** Bytes from the Go build-info magic onwards, when the file is an executable that has one. */
  goBuildInfo?: Buffer;
}

/** What one pass over one layer found. */
export interface LayerScan {
  index: number;
  digest: string;
  mediaType: string;
  /** Bytes of the blob as shipped (compressed, when it is). */
  compressedSize: number;
  /** Bytes of the tar stream after decompression. */
  uncompressedSize: number;
  compression: 'gzip' | 'zstd' | 'none';
  entries: LayerEntry[];
  /** Paths a `.wh.NAME` marker deletes from lower layers. */
  whiteouts: string[];
  /** Directories whose lower content a `.wh..wh..opq` marker hides. */
  opaqueDirs: string[];
  issues: ScanIssue[];
  /** The layer could not be read to its end (corrupt compression or tar, a source error). */
  incomplete: boolean;
}

export interface WalkOptions {
  /** Keep the bytes of regular files this accepts (and that are at most `maxContentSize`). */
  keepContent?: (path: string) => boolean;
  maxContentSize?: number;
  /** Compute a sha256 per regular file (for duplicate detection). */
  hashContents?: boolean;
  /** Look for Go build information in executables. */
  findGoBuildInfo?: boolean;
  signal?: AbortSignal;
}

const GO_BUILDINFO_KEEP = 64 * 1024;
const DEFAULT_MAX_CONTENT = 128 * 1024 * 1024;

/**
 * Normalizes a tar entry name to an absolute path inside the image root. Returns undefined when `..`
 * climbs above the root: such an entry would land outside the extraction folder.
 */
export function normalizeEntryPath(name: string): { path: string; absolute: boolean } | undefined {
  const absolute = name.startsWith('/');
  const parts: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
      continue;
    }
    parts.push(segment);
  }
  return { path: `/${parts.join('/')}`, absolute };
}

/** True when a relative symlink target, resolved from the link's folder, climbs above the root. */
export function symlinkEscapesRoot(linkPath: string, target: string): boolean {
  if (target.startsWith('/')) return false; // absolute targets resolve inside the container's root
  const parts = linkPath.split('/').filter(Boolean);
  parts.pop();
  for (const segment of target.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length === 0) return true;
      parts.pop();
    } else parts.push(segment);
  }
  return false;
}

function entryType(tarType: string | null | undefined): EntryType {
  switch (tarType) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'dir';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    case 'character-device':
      return 'char';
    case 'block-device':
      return 'block';
    case 'fifo':
      return 'fifo';
    default:
      return 'other';
  }
}

/** Counts bytes going through. */
class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/** zstd as a Node stream; fzstd is pure JavaScript because Node 20's zlib has no zstd. */
function createZstdDecompress(): Transform {
  let decoder: ZstdDecompress;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        decoder.push(chunk);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done) {
      try {
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
  decoder = new ZstdDecompress((data) => {
    stream.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
  return stream;
}

/**
 * Peeks at the first bytes to pick the decompressor: media types are not always right. The chunk is put
 * back with unshift and the same stream handed on: re-wrapping it in an async generator costs a promise and
 * a copy hop per chunk for the whole layer.
 */
async function detectCompression(
  input: Readable,
): Promise<{ kind: LayerScan['compression']; stream: Readable }> {
  let head = input.read() as Buffer | null;
  while (head === null && !input.readableEnded && !input.destroyed) {
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        input.off('readable', done);
        input.off('end', done);
        input.off('error', fail);
        resolve();
      };
      const fail = (error: Error) => {
        input.off('readable', done);
        input.off('end', done);
        reject(error);
      };
      input.once('readable', done);
      input.once('end', done);
      input.once('error', fail);
    });
    head = input.read() as Buffer | null;
  }
  const first = head ?? Buffer.alloc(0);
  if (first.length > 0) input.unshift(first);
  let kind: LayerScan['compression'] = 'none';
  if (first[0] === 0x1f && first[1] === 0x8b) kind = 'gzip';
  else if (first[0] === 0x28 && first[1] === 0xb5 && first[2] === 0x2f && first[3] === 0xfd) kind = 'zstd';
  return { kind, stream: input };
}

/** Finds the Go build-info magic across chunk boundaries and keeps the bytes after it. */
class GoBuildInfoFinder {
  private tail = Buffer.alloc(0);
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private found = false;

  push(chunk: Buffer): void {
    if (this.found) {
      if (this.keptBytes < GO_BUILDINFO_KEEP) {
        const part = chunk.subarray(0, GO_BUILDINFO_KEEP - this.keptBytes);
        this.kept.push(part);
        this.keptBytes += part.length;
      }
      return;
    }
    const window = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    const at = window.indexOf(GO_BUILDINFO_MAGIC);
    if (at >= 0) {
      this.found = true;
      const part = window.subarray(at, at + GO_BUILDINFO_KEEP);
      this.kept.push(Buffer.from(part));
      this.keptBytes = part.length;
      return;
    }
    this.tail = Buffer.from(window.subarray(Math.max(0, window.length - (GO_BUILDINFO_MAGIC.length - 1))));
  }

  result(): Buffer | undefined {
    return this.found ? Buffer.concat(this.kept) : undefined;
  }
}

function isExecutable(mode: number): boolean {
  return (mode & 0o111) !== 0;
}

/** A layer's scan before anything is read (and what stays of a layer that cannot be opened). */
export function emptyLayerScan(layer: {
  index: number;
  digest: string;
  mediaType: string;
  size: number;
}): LayerScan {
  return {
    index: layer.index,
    digest: layer.digest,
    mediaType: layer.mediaType,
    compressedSize: layer.size,
    uncompressedSize: 0,
    compression: 'none',
    entries: [],
    whiteouts: [],
    opaqueDirs: [],
    issues: [],
    incomplete: false,
  };
}

/**
 * Streams one layer blob once: decompresses it (gzip, zstd or none, by its magic bytes), reads the tar
 * entries, and records what each declares. Nothing is written anywhere: paths are only strings here, so
 * a hostile layer (absolute names, `..`, links out of the root, devices) cannot touch the host; such
 * entries are reported as issues. A corrupt stream ends the layer with an issue, never an exception.
 */
export async function walkLayer(
  blob: Readable,
  layer: { index: number; digest: string; mediaType: string; size: number },
  options: WalkOptions = {},
): Promise<LayerScan> {
  const scan = emptyLayerScan(layer);
  const issue = (code: string, message: string, path?: string) => {
    scan.issues.push({
      code,
      message,
      layerIndex: layer.index,
      layerDigest: layer.digest,
      ...(path !== undefined ? { path } : {}),
    });
  };
  const maxContent = options.maxContentSize ?? DEFAULT_MAX_CONTENT;
  const counter = new ByteCounter();
  const extract = tarExtract();
  let currentPath: string | undefined;
  // Set while an entry's data is being read: a stream that ends then is truncated.
  let lastEntryComplete = true;
  try {
    const { kind, stream } = await detectCompression(blob);
    scan.compression = kind;
    const stages: (Readable | Transform)[] = [stream];
    if (kind === 'gzip') stages.push(createGunzip({ chunkSize: 1024 * 1024 }));
    else if (kind === 'zstd') stages.push(createZstdDecompress());
    const feeding = pipeline([...stages, counter, extract] as unknown as [Readable, Transform], {
      ...(options.signal ? { signal: options.signal } : {}),
    });
    feeding.catch(() => {}); // its error is taken from the iteration below, or awaited after
    for await (const item of extract) {
      const header = item.header;
      const normalized = normalizeEntryPath(header.name);
      currentPath = header.name;
      if (!normalized) {
        issue(
          'PATH_TRAVERSAL',
          `entry "${header.name}" climbs out of the root with ".."; ignored`,
          header.name,
        );
        item.resume();
        continue;
      }
      const path = normalized.path;
      if (path === '/') {
        item.resume();
        continue;
      }
      if (normalized.absolute) issue('PATH_ABSOLUTE', `entry "${header.name}" has an absolute name`, path);
      const slash = path.lastIndexOf('/');
      const base = path.slice(slash + 1);
      const dir = slash === 0 ? '/' : path.slice(0, slash);
      if (base.startsWith('.wh.')) {
        if (base === '.wh..wh..opq') scan.opaqueDirs.push(dir);
        else if (!base.startsWith('.wh..wh.'))
          scan.whiteouts.push(`${dir === '/' ? '' : dir}/${base.slice(4)}`);
        item.resume();
        continue;
      }
      const type = entryType(header.type);
      const entry: LayerEntry = {
        path,
        type,
        mode: header.mode ?? 0,
        size: type === 'file' ? (header.size ?? 0) : 0,
        uid: header.uid ?? 0,
        gid: header.gid ?? 0,
      };
      if (type === 'symlink') {
        entry.linkname = header.linkname ?? '';
        if (symlinkEscapesRoot(path, entry.linkname))
          issue('SYMLINK_OUTSIDE', `symlink ${path} -> ${entry.linkname} points outside the root`, path);
      } else if (type === 'hardlink') {
        const target = normalizeEntryPath(header.linkname ?? '');
        if (!target) {
          issue('PATH_TRAVERSAL', `hard link ${path} -> ${header.linkname} climbs out of the root`, path);
          item.resume();
          continue;
        }
        entry.linkname = target.path;
      } else if (type === 'char' || type === 'block') {
        issue(
          'DEVICE_FILE',
          `${type === 'char' ? 'character' : 'block'} device ${path} (${header.devmajor ?? 0}:${header.devminor ?? 0})`,
          path,
        );
      } else if (type === 'other') {
        issue('ENTRY_UNKNOWN', `entry ${path} has an unknown tar type "${String(header.type)}"`, path);
      }
      if (type === 'file' && entry.size > 0) {
        const keep = options.keepContent?.(path) === true;
        if (keep && entry.size > maxContent)
          issue(
            'FILE_TOO_LARGE',
            `${path} is ${entry.size} bytes, over the ${maxContent}-byte limit; not read`,
            path,
          );
        const parts: Buffer[] | undefined = keep && entry.size <= maxContent ? [] : undefined;
        const hash = options.hashContents ? createHash('sha256') : undefined;
        const go = options.findGoBuildInfo && isExecutable(entry.mode) ? new GoBuildInfoFinder() : undefined;
        lastEntryComplete = false;
        let received = 0;
        if (parts || hash || go) {
          for await (const chunk of item as AsyncIterable<Buffer>) {
            received += chunk.length;
            parts?.push(chunk);
            hash?.update(chunk);
            go?.push(chunk);
          }
          if (parts) entry.content = Buffer.concat(parts);
          if (hash) entry.hash = hash.digest('hex');
          const info = go?.result();
          if (info) entry.goBuildInfo = info;
        } else {
          item.on('data', (chunk: unknown) => {
            received += (chunk as Buffer).length;
          });
          await new Promise<void>((resolve, reject) => {
            item.once('end', resolve);
            item.once('error', reject);
          });
        }
        lastEntryComplete = received === entry.size;
      } else {
        item.resume();
      }
      scan.entries.push(entry);
    }
    await feeding;
  } catch (error) {
    if (options.signal?.aborted) throw error;
    // Go's archive/tar (containerd, umoci) accepts a tar whose last entry lacks its padding and the two
    // zero blocks; umoci writes layers so. Truncation inside an entry's data is still an error.
    const missingTrailer =
      lastEntryComplete && error instanceof Error && error.message === 'Unexpected end of data';
    if (missingTrailer) {
      scan.uncompressedSize = counter.bytes;
      return scan;
    }
    scan.incomplete = true;
    const reason = error instanceof Error ? error.message : String(error);
    issue(
      'LAYER_CORRUPT',
      `layer ${layer.index + 1} (${layer.digest}) could not be read to its end${currentPath ? ` (after entry "${currentPath}")` : ''}: ${reason}`,
      currentPath,
    );
    extract.destroy();
    blob.destroy();
  }
  scan.uncompressedSize = counter.bytes;
  return scan;
}
