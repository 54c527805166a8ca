import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tarHeader } from './random-oci-image.js';

const TAR_BLOCK = 512;

export type LayerKind = 'random' | 'text';

export interface ArchiveSpec {
  layers: number;
  /** Payload bytes per layer (the files inside its tar; the tar adds headers and padding). */
  layerBytes: number;
}

export interface ArchiveLayer {
  kind: LayerKind;
  /** sha256 of the layer tar: its diffID, which is also its digest as an uncompressed layer. */
  diffId: string;
  /** Bytes of the layer tar. */
  size: number;
  files: number;
  /** Uncompressed over gzip -1 size of the layer's first MiB: about 1.0 for random layers, 4-5 for text. */
  gzipRatio: number;
}

export interface DockerArchiveImage {
  /** The `docker save` tarball; skopeo and Berth read it as `docker-archive:PATH`. */
  path: string;
  /** The one tag in its manifest.json. */
  repoTag: string;
  configDigest: string;
  layers: ArchiveLayer[];
  /** Sum of the layer tars: the uncompressed image, which throughput figures are relative to. */
  layerBytes: number;
  /** Size of the archive file. */
  archiveBytes: number;
}

/** Rounds up to whole tar blocks. */
function blocks(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

/**
 * Text that compresses like real logs and source code (about 4.6x under gzip -1, 6x under gzip -6): lines
 * built from small vocabularies, with timestamps, counters, ids and hex request ids that keep it from being
 * trivially repetitive. Seeded from fresh random bytes, so every run's layers are new to every cache.
 */
class TextGenerator {
  private state = randomBytes(4).readUInt32LE() | 1;
  private clock = Date.UTC(2024, 4, 17, 8, 0, 0);

  private next(): number {
    // xorshift32: fast, and random enough to make lines differ.
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s;
    return (s >>> 0) / 4294967296;
  }

  private int(n: number): number {
    return Math.floor(this.next() * n);
  }

  private pick<T>(values: readonly T[]): T {
    return values[this.int(values.length)] as T;
  }

  private hex(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += HEX[this.int(16)];
    return out;
  }

  logLine(): string {
    this.clock += this.int(40);
    return `${new Date(this.clock).toISOString()} ${this.pick(LEVELS).padEnd(5)} [${this.pick(COMPONENTS)}] ${this.pick(MESSAGES)} method=${this.pick(METHODS)} path=${this.pick(PATHS)}/${this.int(100_000)} status=${this.pick(STATUSES)} duration_ms=${(this.next() * 200).toFixed(1)} request_id=${this.hex(16)} user=${this.pick(USERS)}\n`;
  }

  sourceLine(): string {
    const indent = '  '.repeat(this.int(4));
    const id = () => this.pick(IDENTIFIERS);
    switch (this.int(6)) {
      case 0:
        return `${indent}const ${id()}${this.int(10)} = await ${id()}.${id()}(${id()}, { ${id()}: ${this.int(1000)} });\n`;
      case 1:
        return `${indent}if (${id()}.${id()} === undefined) throw new Error('${id()} ${this.pick(MESSAGES)}');\n`;
      case 2:
        return `${indent}// ${this.pick(MESSAGES)}: the ${id()} keeps its ${id()} until the ${id()} ends\n`;
      case 3:
        return `${indent}return ${id()}.map((${id()}) => ${id()}.${id()} + ${this.int(64)});\n`;
      case 4:
        return `${indent}}\n`;
      default:
        return `${indent}${this.pick(KEYWORDS)} ${id()}${this.pick(SUFFIXES)} = ${id()}[${this.int(16)}];\n`;
    }
  }

  /** Fills `target` with whole lines of one kind (the last one cut at the end). */
  fill(target: Buffer, kind: 'log' | 'source'): void {
    let offset = 0;
    while (offset < target.length) {
      const lines: string[] = [];
      for (let i = 0; i < 2048; i++) lines.push(kind === 'log' ? this.logLine() : this.sourceLine());
      offset += target.write(lines.join(''), offset, 'latin1');
    }
  }
}

const HEX = '0123456789abcdef';
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'] as const;
const COMPONENTS = ['http', 'db.pool', 'cache', 'scheduler', 'auth', 'queue.consumer', 'storage.s3', 'grpc'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const PATHS = [
  '/api/v1/orders',
  '/api/v1/users',
  '/api/v1/catalog/items',
  '/healthz',
  '/api/v2/search',
  '/metrics',
  '/api/v1/cart',
];
const STATUSES = [200, 200, 200, 201, 204, 304, 404, 500];
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'svc-billing', 'svc-export'];
const MESSAGES = [
  'request completed',
  'cache miss, loading from database',
  'connection acquired',
  'retrying after timeout',
  'token refreshed',
  'job scheduled',
  'message acknowledged',
  'slow query detected',
];
const KEYWORDS = ['const', 'let', 'return', 'if', 'await', 'export function', 'import', 'for (const'];
const IDENTIFIERS = [
  'request',
  'response',
  'buffer',
  'offset',
  'digest',
  'manifest',
  'layer',
  'options',
  'signal',
  'result',
  'config',
  'session',
  'upload',
  'registry',
  'stream',
  'chunk',
];
const SUFFIXES = ['', 's', 'Count', 'Bytes'];

interface LayerFile {
  name: string;
  size: number;
  fill: (target: Buffer) => void;
}

/**
 * The files of one layer. Random layers hold 4 files of fresh random bytes (like compressed assets or
 * binaries: incompressible); text layers hold 8 files, half application logs, half source code.
 */
function layerFiles(kind: LayerKind, index: number, payload: number, text: TextGenerator): LayerFile[] {
  const count = kind === 'random' ? 4 : 8;
  const files: LayerFile[] = [];
  for (let i = 0; i < count; i++) {
    const size = Math.floor(payload / count) + (i === count - 1 ? payload % count : 0);
    const n = `${String(index).padStart(2, '0')}-${i}`;
    if (kind === 'random')
      files.push({ name: `opt/data/asset-${n}.bin`, size, fill: (b) => randomFillSync(b) });
    else if (i % 2 === 0)
      files.push({ name: `var/log/app/service-${n}.log`, size, fill: (b) => text.fill(b, 'log') });
    else files.push({ name: `usr/src/app/module-${n}.ts`, size, fill: (b) => text.fill(b, 'source') });
  }
  return files;
}

/** One layer tar, in memory (16 MiB is fine), ready to be hashed and written into the archive. */
function layerTar(files: LayerFile[]): Buffer {
  const size = files.reduce((sum, f) => sum + TAR_BLOCK + blocks(f.size), 0) + 2 * TAR_BLOCK;
  const tar = Buffer.alloc(size);
  let offset = 0;
  for (const file of files) {
    tarHeader(file.name, file.size).copy(tar, offset);
    offset += TAR_BLOCK;
    file.fill(tar.subarray(offset, offset + file.size));
    offset += blocks(file.size);
  }
  return tar;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The kind of layer `index`: random and text alternate, so both kinds are spread over the whole push. */
export function layerKind(index: number): LayerKind {
  return index % 2 === 0 ? 'random' : 'text';
}

/**
 * Writes a `docker save` archive in the classic layout: `<diffID>/layer.tar` (uncompressed layers),
 * `<config digest>.json`, `manifest.json` and `repositories`, one image tagged `repoTag`.
 */
export async function buildDockerArchive(
  path: string,
  spec: ArchiveSpec,
  repoTag = 'bench/import:v1',
): Promise<DockerArchiveImage> {
  const text = new TextGenerator();
  const file = await open(path, 'w');
  let written = 0;
  const write = async (bytes: Buffer): Promise<void> => {
    await file.write(bytes);
    written += bytes.length;
  };
  const entry = async (name: string, bytes: Buffer): Promise<void> => {
    await write(tarHeader(name, bytes.length));
    await write(bytes);
    const padding = blocks(bytes.length) - bytes.length;
    if (padding > 0) await write(Buffer.alloc(padding));
  };
  const layers: ArchiveLayer[] = [];
  let configHex = '';
  try {
    for (let i = 0; i < spec.layers; i++) {
      const kind = layerKind(i);
      const files = layerFiles(kind, i, spec.layerBytes, text);
      const tar = layerTar(files);
      const diffId = sha256(tar);
      await entry(`${diffId}/layer.tar`, tar);
      const sample = tar.subarray(0, Math.min(tar.length, 1024 * 1024));
      layers.push({
        kind,
        diffId: `sha256:${diffId}`,
        size: tar.length,
        files: files.length,
        gzipRatio: sample.length / gzipSync(sample, { level: 1 }).length,
      });
    }
    const created = new Date().toISOString();
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created,
        config: {
          Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          Labels: { 'berth.bench.image': 'import' },
        },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
        history: layers.map((l, i) => ({
          created,
          created_by: `/bin/sh -c #(nop) ADD ${l.kind} layer ${i}`,
        })),
      }),
    );
    configHex = sha256(config);
    await entry(`${configHex}.json`, config);
    const layerPaths = layers.map((l) => `${l.diffId.slice('sha256:'.length)}/layer.tar`);
    await entry(
      'manifest.json',
      Buffer.from(JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [repoTag], Layers: layerPaths }])),
    );
    const [name, tag] = repoTag.split(':') as [string, string];
    const top = layers.at(-1)?.diffId.slice('sha256:'.length) ?? '';
    await entry('repositories', Buffer.from(`${JSON.stringify({ [name]: { [tag]: top } })}\n`));
    await write(Buffer.alloc(2 * TAR_BLOCK));
  } finally {
    await file.close();
  }
  return {
    path,
    repoTag,
    configDigest: `sha256:${configHex}`,
    layers,
    layerBytes: layers.reduce((sum, l) => sum + l.size, 0),
    archiveBytes: written,
  };
}
