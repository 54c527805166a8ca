// npm run bench -- scan: time and peak memory of `berth scan` (debootstrap image, 1 GiB image) and the
// throughput of `berth analyze` against gunzip and GNU tar over the same layers, alternating. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { createCipheriv, createHash, type Hash } from 'node:crypto';
import { createWriteStream, existsSync, openSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { scanFixtures } from '../test/support/scan-fixtures.js';
import { envNumber } from './bench-settings.js';
import { renderProfile, summarizeCpuProfile } from './cpu-profile.js';
import { writeImageFiles } from './oci-layout-writer.js';
import { MiB, median, renderColumns } from './report.js';
import { killTracked, runCommand, startCommand, track } from './run-command.js';
import { exitedChildrenCpuSeconds } from './server-meter.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BERTH_BIN = join(ROOT, 'bin', 'berth.js');
const INPUTS = join(ROOT, '.bench', 'scan-inputs');
const OSV_RECORDS = join(ROOT, 'test', 'fixtures', 'osv', 'records');
const TAG = 'v1';
const COMMAND_TIMEOUT_MS = 10 * 60 * 1000;
const MB = 1e6;
const TAR_BLOCK = 512;
/** Bump when the generated images change shape, so cached ones are rebuilt. */
const INPUT_VERSION = 1;
/** "Bounded by gunzip speed": analyze MB/s over gunzip MB/s at the same parallelism. */
const THROUGHPUT_TARGET = 0.8;
/** "Memory flat as the image grows": peak RSS over the large image over peak RSS over the small one. */
const MEMORY_GROWTH_TARGET = 1.25;

const quick = process.env.BENCH_QUICK === '1';
const settings = {
  quick,
  runs: envNumber('BENCH_RUNS', quick ? 1 : 3),
  /** Layers Berth decompresses at once (layer-pass.ts): the parallel gunzip peer uses the same. */
  parallelism: Math.min(4, availableParallelism()),
  layers: 8,
  smallLayerBytes: (quick ? 2 : 32) * MiB,
  largeLayerBytes: (quick ? 8 : 128) * MiB,
  profile: process.env.BENCH_PROFILE === '1',
};

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

// ---------------------------------------------------------------------------------------------------------
// Inputs

interface LayerFile {
  digest: string;
  /** Bytes of the gzip blob. */
  size: number;
  diffId: string;
  /** Bytes of the layer tar. */
  tarBytes: number;
  files: number;
}

interface BuiltImage {
  label: string;
  layout: string;
  /** What the CLI is given: `oci:DIR:TAG`. */
  reference: string;
  layers: LayerFile[];
  /** Sum of the layer tars: the uncompressed bytes throughput is counted in. */
  tarBytes: number;
  compressedBytes: number;
  files: number;
  version: number;
  note: string;
}

/** Feeds a hash and counts bytes as they pass. */
class HashTap extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** A ustar header; names stay under 100 bytes in the generated images. */
function ustarHeader(name: string, size: number, type: '0' | '5', mode: number): Buffer {
  const header = Buffer.alloc(TAR_BLOCK);
  const octal = (offset: number, length: number, value: number): void => {
    header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
  };
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long: ${name}`);
  header.write(name, 0, 100, 'utf8');
  octal(100, 8, mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 1_700_000_000);
  header.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  header.write(type, 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}

/** xorshift32: deterministic and fast; shapes the images (sizes, kinds, words), never their random bytes. */
class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s >>> 0;
    return this.state / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(values: readonly T[]): T {
    return values[this.int(values.length)] as T;
  }
}

const LEVELS = ['INFO ', 'DEBUG', 'WARN ', 'ERROR', 'TRACE'];
const WORKERS = ['http', 'db', 'cache', 'queue', 'auth', 'scheduler', 'mailer'];
const VERBS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'];
const ROUTES = ['/api/v1/items', '/api/v1/users', '/v2/library/app/blobs', '/healthz', '/login', '/search'];
const IDENTS = ['value', 'items', 'result', 'config', 'request', 'buffer', 'offset', 'layer', 'digest'];
const CALLS = ['computeTotal', 'parseHeader', 'readConfig', 'applyPolicy', 'formatRow', 'resolvePath'];
const KEYWORDS = ['const', 'let', 'return', 'await', 'if (', 'for (const x of'];
const HEX = '0123456789abcdef';

/**
 * Text that compresses like logs and source code (gzip -6 about 4-6x): lines from small vocabularies with
 * timestamps, counters, numbers and hex ids, so it is not trivially repetitive.
 */
class TextSource {
  private clock = Date.UTC(2024, 4, 17, 8, 0, 0);
  private counter = 0;
  constructor(private readonly prng: Prng) {}

  private hex(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += HEX[this.prng.int(16)];
    return out;
  }

  private line(): string {
    const p = this.prng;
    if (p.next() < 0.6) {
      this.clock += p.int(2000);
      return `${new Date(this.clock).toISOString()} ${p.pick(LEVELS)} [${p.pick(WORKERS)}-${p.int(8)}] req=${this.hex(8)} ${p.pick(VERBS)} ${p.pick(ROUTES)}/${p.int(100000)} status=${p.pick([200, 200, 200, 201, 204, 304, 404, 500])} took=${p.int(900)}ms seq=${this.counter++}\n`;
    }
    const indent = '  '.repeat(1 + p.int(4));
    return `${indent}${p.pick(KEYWORDS)} ${p.pick(IDENTS)}${p.int(50)} = ${p.pick(CALLS)}(${p.pick(IDENTS)}, ${p.int(4096)}, '${this.hex(4)}');\n`;
  }

  /** Exactly `size` bytes of text. */
  chunk(size: number): Buffer {
    const lines: string[] = [];
    let length = 0;
    while (length < size) {
      const line = this.line();
      lines.push(line);
      length += line.length;
    }
    return Buffer.from(lines.join('').slice(0, size), 'latin1');
  }
}

/** Deterministic incompressible bytes: AES-128-CTR over zeros, a keystream seeded per layer. */
function randomSource(seed: number): (size: number) => Buffer {
  const key = createHash('sha256').update(`berth-bench-${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return (size) => cipher.update(Buffer.alloc(size));
}

const CONTENT_CHUNK = MiB;

/** One file's size: mostly small files, some medium, a few large, like an application image. */
function pickSize(p: Prng): number {
  const r = p.next();
  if (r < 0.8) return 256 + p.int(8 * 1024);
  if (r < 0.98) return 8 * 1024 + p.int(248 * 1024);
  return 256 * 1024 + p.int(1792 * 1024);
}

/**
 * The tar of layer `index` of a synthetic image, generated as it is read (never whole in memory): folders,
 * files of mixed sizes (about 70 % text-like, 30 % random content by bytes), one large random "binary"; from
 * layer 1 on, a few files of layer 0 overwritten and an identical 256 KiB file shipped again; in the last
 * layer a whiteout of a file, a whiteout of a folder and an opaque folder.
 */
async function* syntheticLayerTar(
  index: number,
  layers: number,
  payloadBytes: number,
): AsyncGenerator<Buffer> {
  const p = new Prng(0x5eed0000 + index * 7919);
  const text = new TextSource(p);
  const random = randomSource(index);
  const padding = (size: number) => Buffer.alloc((TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK);
  function* file(name: string, size: number, kind: 'text' | 'random', mode = 0o644): Generator<Buffer> {
    yield ustarHeader(name, size, '0', mode);
    for (let done = 0; done < size; done += CONTENT_CHUNK) {
      const length = Math.min(CONTENT_CHUNK, size - done);
      yield kind === 'text' ? text.chunk(length) : random(length);
    }
    yield padding(size);
  }
  const base = `opt/app/l${index}`;
  yield ustarHeader(`${base}/`, 0, '5', 0o755);
  const dirs = 32;
  for (let d = 0; d < dirs; d++) yield ustarHeader(`${base}/d${d}/`, 0, '5', 0o755);
  let written = 0;
  // Shared paths: layer 0 writes them, later layers overwrite some (wasted bytes in the analysis).
  const shared = 64;
  if (index === 0) {
    yield ustarHeader('opt/app/shared/', 0, '5', 0o755);
    for (let k = 0; k < shared; k++) {
      yield* file(`opt/app/shared/f${k}.txt`, 64 * 1024, 'text');
      written += 64 * 1024;
    }
  } else {
    for (let k = 0; k < 4; k++) {
      yield* file(`opt/app/shared/f${(index * 4 + k) % shared}.txt`, 64 * 1024, 'text');
      written += 64 * 1024;
    }
    // The same bytes in every layer from 1 on (duplicate content in the analysis).
    const dup = new TextSource(new Prng(42)).chunk(256 * 1024);
    yield ustarHeader(`${base}/vendor-copy.txt`, dup.length, '0', 0o644);
    yield dup;
    written += dup.length;
  }
  const binary = Math.min(8 * MiB, Math.floor(payloadBytes / 16));
  yield* file(`${base}/bin/app-${index}`, binary, 'random', 0o755);
  written += binary;
  if (index === layers - 1) {
    yield ustarHeader('opt/app/l0/d0/.wh.f0.txt', 0, '0', 0o644);
    yield ustarHeader('opt/app/l0/.wh.d1', 0, '0', 0o644);
    yield ustarHeader('opt/app/l1/d2/.wh..wh..opq', 0, '0', 0o644);
  }
  for (let n = 0; written < payloadBytes; n++) {
    const size = Math.min(pickSize(p), payloadBytes - written);
    const kind = size > 8 * 1024 && p.next() < 0.3 ? 'random' : 'text';
    yield* file(`${base}/d${n % dirs}/f${n}.${kind === 'text' ? 'txt' : 'bin'}`, size, kind);
    written += size;
  }
  yield Buffer.alloc(2 * TAR_BLOCK); // end of archive
}

/** Gzips a tar stream at level 6 (docker's default) into the layout; returns the blob and its diffID. */
async function writeGzipLayer(
  layout: string,
  name: string,
  tar: Readable,
): Promise<Omit<LayerFile, 'files'>> {
  const temp = join(layout, 'blobs', 'sha256', `.partial-${name}`);
  const uncompressed = new HashTap();
  const compressed = new HashTap();
  await pipeline(tar, uncompressed, createGzip({ level: 6 }), compressed, createWriteStream(temp));
  const hex = compressed.hash.digest('hex');
  await rename(temp, join(layout, 'blobs', 'sha256', hex));
  return {
    digest: `sha256:${hex}`,
    size: compressed.bytes,
    diffId: `sha256:${uncompressed.hash.digest('hex')}`,
    tarBytes: uncompressed.bytes,
  };
}

/** config, manifest, index.json and oci-layout around layers already in the layout's blobs. */
async function finishLayout(layout: string, label: string, layers: LayerFile[], createdBy: string[]) {
  const created = '2024-05-17T08:00:00Z';
  await writeImageFiles(layout, {
    label,
    tag: TAG,
    layers,
    created,
    history: createdBy.map((line) => ({ created, created_by: line })),
  });
}

/** A cached image when its description matches, else a fresh build in a temporary folder renamed into place. */
async function cachedImage(
  label: string,
  note: string,
  build: (layout: string) => Promise<{ layers: LayerFile[]; createdBy: string[] }>,
): Promise<BuiltImage> {
  const layout = join(INPUTS, label);
  const described = join(layout, 'bench-image.json');
  if (existsSync(described)) {
    const image = JSON.parse(await readFile(described, 'utf8')) as BuiltImage;
    if (image.version === INPUT_VERSION && image.note === note) {
      log(`image ${label}: cached in ${layout}`);
      return { ...image, layout, reference: `oci:${layout}:${TAG}` };
    }
  }
  const temp = `${layout}.building-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(join(temp, 'blobs', 'sha256'), { recursive: true });
  const started = performance.now();
  log(`image ${label}: building (${note})`);
  const { layers, createdBy } = await build(temp);
  await finishLayout(temp, label, layers, createdBy);
  const image: BuiltImage = {
    label,
    layout,
    reference: `oci:${layout}:${TAG}`,
    layers,
    tarBytes: layers.reduce((sum, l) => sum + l.tarBytes, 0),
    compressedBytes: layers.reduce((sum, l) => sum + l.size, 0),
    files: layers.reduce((sum, l) => sum + l.files, 0),
    version: INPUT_VERSION,
    note,
  };
  await writeFile(join(temp, 'bench-image.json'), `${JSON.stringify(image, null, 2)}\n`);
  await rm(layout, { recursive: true, force: true });
  await rename(temp, layout);
  log(`image ${label}: built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return image;
}

function syntheticImage(label: string, layerBytes: number): Promise<BuiltImage> {
  const note = `${settings.layers} gzip-6 layers of ${layerBytes / MiB} MiB payload, synthetic`;
  return cachedImage(label, note, async (layout) => {
    // Two layers at a time: deflate runs on the thread pool, the tar generation here.
    const layers: LayerFile[] = new Array(settings.layers);
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < settings.layers; i = next++) {
        let files = 0;
        const counted = async function* () {
          for await (const part of syntheticLayerTar(i, settings.layers, layerBytes)) {
            if (part.length === TAR_BLOCK && part.toString('ascii', 257, 262) === 'ustar') files++;
            yield part;
          }
        };
        layers[i] = { ...(await writeGzipLayer(layout, `l${i}`, Readable.from(counted()))), files };
      }
    };
    await Promise.all(Array.from({ length: 2 }, worker));
    return { layers, createdBy: layers.map((_, i) => `COPY l${i}/ /opt/app/l${i}/ # buildkit`) };
  });
}

/** The debootstrap bookworm root from the scan fixtures, as one gzip layer made by GNU tar (devices, links kept). */
async function debianImage(): Promise<BuiltImage> {
  const { debianRoot } = await scanFixtures();
  return cachedImage(
    'debian-bookworm',
    `debootstrap root ${debianRoot}, one gzip-6 layer`,
    async (layout) => {
      const tar = track(
        spawn('tar', ['--sort=name', '--numeric-owner', '-C', debianRoot, '-cf', '-', '.'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      );
      let stderr = '';
      tar.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => tar.once('close', resolve));
      const layer = await writeGzipLayer(layout, 'debian', tar.stdout as Readable);
      const code = await exited;
      if (code !== 0) throw new Error(`tar of ${debianRoot} exited ${code}: ${stderr.slice(-2000)}`);
      const listing = spawnSync('tar', ['-tzf', join(layout, 'blobs', 'sha256', layer.digest.slice(7))], {
        encoding: 'utf8',
        maxBuffer: 256 * MiB,
      });
      const files = listing.stdout.split('\n').filter(Boolean).length;
      return { layers: [{ ...layer, files }], createdBy: ['debootstrap --variant=minbase bookworm'] };
    },
  );
}

/** The OSV fixtures in a fresh advisory database, loaded with `berth db import`. */
async function advisoryDatabase(): Promise<string> {
  const path = join(INPUTS, 'osv.sqlite');
  for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
  await runCommand(process.execPath, [BERTH_BIN, 'db', 'import', '--db', path, OSV_RECORDS], {
    timeoutMs: COMMAND_TIMEOUT_MS,
  });
  log(`advisory database: ${path} (berth db import)`);
  return path;
}

// ---------------------------------------------------------------------------------------------------------
// Measurements

type CaseId =
  | 'scan-debian'
  | 'gunzip-debian'
  | 'analyze-small'
  | 'gunzip-seq-small'
  | 'gunzip-par-small'
  | 'tar-small'
  | 'node-gunzip-small'
  | 'analyze-large'
  | 'gunzip-seq-large'
  | 'gunzip-par-large'
  | 'tar-large'
  | 'node-gunzip-large'
  | 'scan-large';

interface Sample {
  case: CaseId;
  run: number;
  seconds: number;
  /** User + system CPU of the command and its threads (and children). */
  cpuSeconds: number;
  /** Peak resident memory (GNU time's maximum RSS), for Berth commands. */
  peakRss?: number;
  loadAverage: number;
  /** From the command's own JSON output, to check it read what it should. */
  check?: string;
}

let devNull: number | undefined;

/** Runs commands `parallel` at a time over `files`, stdout to /dev/null; resolves when all have exited 0. */
async function runPool(
  command: string,
  args: (file: string) => string[],
  files: string[],
  parallel: number,
): Promise<void> {
  // A plain descriptor, kept for the whole run (a FileHandle would be closed when collected).
  devNull ??= openSync('/dev/null', 'w');
  const out = devNull;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const child = track(spawn(command, args(files[i] as string), { stdio: ['ignore', out, 'pipe'] }));
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
      const code = await new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', resolve);
      }).finally(() => clearTimeout(timer));
      if (code !== 0)
        throw new Error(`${command} ${args(files[i] as string).join(' ')} exited ${code}: ${stderr}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, files.length) }, worker));
}

async function measurePeer(
  id: CaseId,
  run: number,
  command: string,
  args: (file: string) => string[],
  image: BuiltImage,
  parallel: number,
): Promise<Sample> {
  const files = image.layers.map((l) => join(image.layout, 'blobs', 'sha256', l.digest.slice(7)));
  const loadAverage = loadavg()[0] ?? 0;
  const cpuBefore = exitedChildrenCpuSeconds();
  const started = performance.now();
  await runPool(command, args, files, parallel);
  const seconds = (performance.now() - started) / 1000;
  return { case: id, run, seconds, cpuSeconds: exitedChildrenCpuSeconds() - cpuBefore, loadAverage };
}

/** A Berth command under GNU time, whose maximum RSS is the kernel's exact peak (getrusage), not a sample. */
async function measureBerth(
  id: CaseId,
  run: number,
  args: string[],
  check: (stdout: string) => string,
): Promise<Sample> {
  const timeFile = join(INPUTS, `.time-${process.pid}`);
  const loadAverage = loadavg()[0] ?? 0;
  const cpuBefore = exitedChildrenCpuSeconds();
  const started = startCommand(
    '/usr/bin/time',
    ['-o', timeFile, '-f', '%M', process.execPath, BERTH_BIN, ...args],
    {
      timeoutMs: COMMAND_TIMEOUT_MS,
      env: { ...process.env, BERTH_LOG_LEVEL: 'warn' },
    },
  );
  const result = await started.exited;
  const cpuSeconds = exitedChildrenCpuSeconds() - cpuBefore;
  if (result.code !== 0)
    throw new Error(`berth ${args.join(' ')} exited ${result.code}\n${result.stderr.slice(-4000)}`);
  const maxRssKb = Number((await readFile(timeFile, 'utf8')).trim().split('\n').pop());
  await rm(timeFile, { force: true });
  return {
    case: id,
    run,
    seconds: result.seconds,
    cpuSeconds,
    peakRss: maxRssKb * 1024,
    loadAverage,
    check: check(result.stdout),
  };
}

interface AnalyzeJson {
  totals?: { uncompressedSize?: number; finalFiles?: number; wastedBytes?: number };
  layers?: unknown[];
  issues?: unknown[];
  analysis?: AnalyzeJson;
}

function checkAnalyze(image: BuiltImage): (stdout: string) => string {
  return (stdout) => {
    const parsed = JSON.parse(stdout) as AnalyzeJson;
    const report = parsed.totals ? parsed : (parsed.analysis ?? parsed);
    const bytes = report.totals?.uncompressedSize;
    if (bytes !== image.tarBytes)
      throw new Error(
        `berth analyze ${image.label} read ${bytes} uncompressed bytes, expected ${image.tarBytes}`,
      );
    return `${report.totals?.finalFiles} files, ${((report.totals?.wastedBytes ?? 0) / MiB).toFixed(1)} MiB wasted, ${report.issues?.length ?? 0} issues`;
  };
}

function checkScan(stdout: string): string {
  const parsed = JSON.parse(stdout) as {
    findings?: unknown[];
    packages?: unknown[];
    vulnerabilities?: unknown[];
  };
  const findings = parsed.findings ?? parsed.vulnerabilities;
  return `${Array.isArray(findings) ? findings.length : '?'} findings${Array.isArray(parsed.packages) ? `, ${parsed.packages.length} packages` : ''}`;
}

interface Inputs {
  debian: BuiltImage;
  small: BuiltImage;
  large: BuiltImage;
  db: string;
}

/**
 * Node's own zlib over the same layers, `parallel` at once in one process, into a sink, with the chunk size
 * layer-walker.ts uses: the floor for any Node.js program that reads these layers, startup included.
 */
const NODE_GUNZIP = `
const { createReadStream } = require('node:fs');
const { createGunzip } = require('node:zlib');
const { pipeline } = require('node:stream/promises');
const { Writable } = require('node:stream');
const [parallel, ...files] = process.argv.slice(1);
let next = 0;
const sink = () => new Writable({ write(_chunk, _encoding, done) { done(); } });
const worker = async () => {
  for (let i = next++; i < files.length; i = next++)
    await pipeline(createReadStream(files[i]), createGunzip({ chunkSize: 256 * 1024 }), sink());
};
Promise.all(Array.from({ length: Number(parallel) }, worker)).catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

async function measureNodeGunzip(
  id: CaseId,
  run: number,
  image: BuiltImage,
  parallel: number,
): Promise<Sample> {
  const files = image.layers.map((l) => join(image.layout, 'blobs', 'sha256', l.digest.slice(7)));
  const loadAverage = loadavg()[0] ?? 0;
  const cpuBefore = exitedChildrenCpuSeconds();
  const { seconds } = await runCommand(process.execPath, ['-e', NODE_GUNZIP, String(parallel), ...files], {
    timeoutMs: COMMAND_TIMEOUT_MS,
  });
  return { case: id, run, seconds, cpuSeconds: exitedChildrenCpuSeconds() - cpuBefore, loadAverage };
}

function caseRunners(inputs: Inputs): { id: CaseId; run: (run: number) => Promise<Sample> }[] {
  const { debian, small, large, db } = inputs;
  const gunzip = (file: string) => ['-dc', file];
  const tarList = (file: string) => ['-tzf', file];
  const par = settings.parallelism;
  return [
    {
      id: 'scan-debian',
      run: (r) => measureBerth('scan-debian', r, ['scan', '--db', db, '--json', debian.reference], checkScan),
    },
    { id: 'gunzip-debian', run: (r) => measurePeer('gunzip-debian', r, 'gzip', gunzip, debian, 1) },
    {
      id: 'analyze-small',
      run: (r) =>
        measureBerth('analyze-small', r, ['analyze', '--json', small.reference], checkAnalyze(small)),
    },
    { id: 'gunzip-seq-small', run: (r) => measurePeer('gunzip-seq-small', r, 'gzip', gunzip, small, 1) },
    { id: 'gunzip-par-small', run: (r) => measurePeer('gunzip-par-small', r, 'gzip', gunzip, small, par) },
    { id: 'tar-small', run: (r) => measurePeer('tar-small', r, 'tar', tarList, small, 1) },
    { id: 'node-gunzip-small', run: (r) => measureNodeGunzip('node-gunzip-small', r, small, par) },
    {
      id: 'analyze-large',
      run: (r) =>
        measureBerth('analyze-large', r, ['analyze', '--json', large.reference], checkAnalyze(large)),
    },
    { id: 'gunzip-seq-large', run: (r) => measurePeer('gunzip-seq-large', r, 'gzip', gunzip, large, 1) },
    { id: 'gunzip-par-large', run: (r) => measurePeer('gunzip-par-large', r, 'gzip', gunzip, large, par) },
    { id: 'tar-large', run: (r) => measurePeer('tar-large', r, 'tar', tarList, large, 1) },
    { id: 'node-gunzip-large', run: (r) => measureNodeGunzip('node-gunzip-large', r, large, par) },
    {
      id: 'scan-large',
      run: (r) => measureBerth('scan-large', r, ['scan', '--db', db, '--json', large.reference], checkScan),
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Report

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(0)} MB`;
}

interface Row {
  image: string;
  label: string;
  id: CaseId;
  /** Uncompressed bytes the command reads (for MB/s). */
  bytes: number;
}

function summarize(samples: Sample[], id: CaseId) {
  const mine = samples.filter((s) => s.case === id);
  const rss = mine.map((s) => s.peakRss).filter((v): v is number => v !== undefined);
  return {
    seconds: median(mine.map((s) => s.seconds)),
    min: Math.min(...mine.map((s) => s.seconds)),
    max: Math.max(...mine.map((s) => s.seconds)),
    cpu: median(mine.map((s) => s.cpuSeconds)),
    peakRss: rss.length > 0 ? median(rss) : undefined,
    peakRssMax: rss.length > 0 ? Math.max(...rss) : undefined,
    check: mine[0]?.check,
  };
}

function version(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return (result.stdout || result.stderr || '').split('\n')[0]?.trim() ?? '';
}

async function profileAnalyze(image: BuiltImage, file: string) {
  const dir = join(INPUTS, `.profile-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const cpuBefore = exitedChildrenCpuSeconds();
  const result = await runCommand(
    process.execPath,
    ['--cpu-prof', '--cpu-prof-dir', dir, BERTH_BIN, 'analyze', '--json', image.reference],
    { timeoutMs: COMMAND_TIMEOUT_MS },
  );
  const cpuSeconds = exitedChildrenCpuSeconds() - cpuBefore;
  const written = spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  if (written.length === 0) throw new Error('node --cpu-prof wrote no profile');
  await copyFile(join(dir, written[0] as string), file);
  await rm(dir, { recursive: true, force: true });
  return { file, seconds: result.seconds, cpuSeconds, summary: await summarizeCpuProfile(file) };
}

async function main(): Promise<void> {
  const started = Date.now();
  await mkdir(INPUTS, { recursive: true });
  if (!existsSync(BERTH_BIN) || !existsSync(join(ROOT, 'dist')))
    throw new Error('dist/ is missing: run through `npm run bench -- scan`, which builds first');
  const smallLabel = `synthetic-${(settings.layers * settings.smallLayerBytes) / MiB}MiB`;
  const largeLabel = `synthetic-${(settings.layers * settings.largeLayerBytes) / MiB}MiB`;
  const inputs: Inputs = {
    debian: await debianImage(),
    small: await syntheticImage(smallLabel, settings.smallLayerBytes),
    large: await syntheticImage(largeLabel, settings.largeLayerBytes),
    db: await advisoryDatabase(),
  };
  // Read every blob once so that the first measured run does not pay for the disk.
  for (const image of [inputs.debian, inputs.small, inputs.large])
    await runPool(
      'cat',
      (f) => [f],
      image.layers.map((l) => join(image.layout, 'blobs', 'sha256', l.digest.slice(7))),
      1,
    );

  const runners = caseRunners(inputs);
  const samples: Sample[] = [];
  for (let r = 0; r < settings.runs; r++) {
    for (let k = 0; k < runners.length; k++) {
      // Rotate the order each run, so no case always follows the same neighbour.
      const runner = runners[(k + r * 3) % runners.length] as (typeof runners)[number];
      const sample = await runner.run(r);
      samples.push(sample);
      log(
        `run ${r + 1}/${settings.runs} ${runner.id}: ${sample.seconds.toFixed(2)} s, CPU ${sample.cpuSeconds.toFixed(2)} s${sample.peakRss ? `, peak RSS ${(sample.peakRss / MiB).toFixed(0)} MiB` : ''}${sample.check ? ` (${sample.check})` : ''}, load ${sample.loadAverage.toFixed(2)}`,
      );
    }
  }

  const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
  const benchDir = join(ROOT, '.bench');
  let profile: Awaited<ReturnType<typeof profileAnalyze>> | undefined;
  if (settings.profile) {
    log('profiling one berth analyze of the large image (node --cpu-prof)');
    profile = await profileAnalyze(inputs.large, join(benchDir, `scan-analyze-${stamp}.cpuprofile`));
  }

  const { debian, small, large } = inputs;
  const par = settings.parallelism;
  const rows: Row[] = [
    { image: debian.label, label: 'berth scan --db --json', id: 'scan-debian', bytes: debian.tarBytes },
    { image: debian.label, label: 'gzip -dc (reference)', id: 'gunzip-debian', bytes: debian.tarBytes },
    { image: small.label, label: 'berth analyze --json', id: 'analyze-small', bytes: small.tarBytes },
    { image: small.label, label: 'gzip -dc, one at a time', id: 'gunzip-seq-small', bytes: small.tarBytes },
    { image: small.label, label: `gzip -dc, ${par} at once`, id: 'gunzip-par-small', bytes: small.tarBytes },
    { image: small.label, label: 'tar -tzf, one at a time', id: 'tar-small', bytes: small.tarBytes },
    {
      image: small.label,
      label: `node zlib gunzip, ${par} at once`,
      id: 'node-gunzip-small',
      bytes: small.tarBytes,
    },
    { image: large.label, label: 'berth analyze --json', id: 'analyze-large', bytes: large.tarBytes },
    { image: large.label, label: 'gzip -dc, one at a time', id: 'gunzip-seq-large', bytes: large.tarBytes },
    { image: large.label, label: `gzip -dc, ${par} at once`, id: 'gunzip-par-large', bytes: large.tarBytes },
    { image: large.label, label: 'tar -tzf, one at a time', id: 'tar-large', bytes: large.tarBytes },
    {
      image: large.label,
      label: `node zlib gunzip, ${par} at once`,
      id: 'node-gunzip-large',
      bytes: large.tarBytes,
    },
    { image: large.label, label: 'berth scan --db --json', id: 'scan-large', bytes: large.tarBytes },
  ];
  const summaries = new Map(rows.map((row) => [row.id, summarize(samples, row.id)]));
  const at = (id: CaseId) => summaries.get(id) as ReturnType<typeof summarize>;
  const rate = (row: Row) => row.bytes / MB / at(row.id).seconds;
  const rateOf = (id: CaseId) => rate(rows.find((r) => r.id === id) as Row);
  const table = renderColumns(
    ['image', 'command', 'wall s', 'min-max s', 'MB/s', 'CPU s', 'peak RSS'],
    rows.map((row) => {
      const s = at(row.id);
      return [
        row.image,
        row.label,
        s.seconds.toFixed(2),
        `${s.min.toFixed(2)}-${s.max.toFixed(2)}`,
        rate(row).toFixed(1),
        s.cpu.toFixed(2),
        s.peakRss !== undefined ? `${(s.peakRss / MiB).toFixed(1)} MiB` : '',
      ];
    }),
    [0, 1],
  );

  const throughputRatio = rateOf('analyze-large') / rateOf('gunzip-par-large');
  const smallRss = at('analyze-small').peakRss ?? Number.NaN;
  const largeRss = at('analyze-large').peakRss ?? Number.NaN;
  const memoryGrowth = largeRss / smallRss;
  // Fixed costs (Node.js startup, config, the report) cancel out between the two image sizes.
  const marginal =
    (large.tarBytes - small.tarBytes) / MB / (at('analyze-large').seconds - at('analyze-small').seconds);
  // One row of the ratio table: "a / b" as measured, then a ÷ b.
  const ratioRow = (
    label: string,
    a: number,
    b: number,
    digits: number,
    unit = '',
    target = '',
  ): string[] => [label, `${a.toFixed(digits)} / ${b.toFixed(digits)}${unit}`, (a / b).toFixed(2), target];
  const analyzeRate = rateOf('analyze-large');
  const analyzeCpu = at('analyze-large').cpu;
  const scanLargeRss = at('scan-large').peakRss ?? 0;
  const scanDebianRss = at('scan-debian').peakRss ?? 0;
  const ratioRows: string[][] = [
    ratioRow(
      'analyze MB/s / gzip -dc MB/s (same parallelism)',
      analyzeRate,
      rateOf('gunzip-par-large'),
      1,
      '',
      `${throughputRatio >= THROUGHPUT_TARGET ? 'MET   ' : 'MISSED'} >= ${THROUGHPUT_TARGET.toFixed(2)} (bounded by gunzip speed)`,
    ),
    ratioRow('analyze MB/s / gzip -dc MB/s (one at a time)', analyzeRate, rateOf('gunzip-seq-large'), 1),
    ratioRow(
      'analyze CPU s / gzip -dc CPU s (cost per byte, less noisy)',
      analyzeCpu,
      at('gunzip-par-large').cpu,
      2,
    ),
    ratioRow(
      'analyze MB/s / node zlib gunzip MB/s (same parallelism)',
      analyzeRate,
      rateOf('node-gunzip-large'),
      1,
    ),
    ratioRow('analyze CPU s / node zlib gunzip CPU s', analyzeCpu, at('node-gunzip-large').cpu, 2),
    ratioRow('analyze MB/s / tar -tzf MB/s', analyzeRate, rateOf('tar-large'), 1),
    ratioRow(
      `analyze marginal MB/s (${small.label} -> ${large.label}) / gzip -dc`,
      marginal,
      rateOf('gunzip-par-large'),
      1,
    ),
    ratioRow(
      `analyze peak RSS ${large.label} / ${small.label}`,
      largeRss / MiB,
      smallRss / MiB,
      1,
      ' MiB',
      `${memoryGrowth <= MEMORY_GROWTH_TARGET ? 'MET   ' : 'MISSED'} <= ${MEMORY_GROWTH_TARGET.toFixed(2)} (memory flat as the image grows)`,
    ),
    ratioRow(
      `scan peak RSS ${large.label} / ${debian.label}`,
      scanLargeRss / MiB,
      (scanDebianRss || 1) / MiB,
      1,
      ' MiB',
    ),
  ];
  const ratios = renderColumns(['ratio', 'values', 'ratio', 'target'], ratioRows, [0, 3]);

  const imageLine = (i: BuiltImage) =>
    `  ${i.label}: ${i.layers.length} gzip layer(s), ${mb(i.tarBytes)} uncompressed, ${mb(i.compressedBytes)} compressed (${(i.tarBytes / i.compressedBytes).toFixed(1)}x), ${i.files} tar entries`;
  const out: string[] = [''];
  out.push(
    `berth scan / analyze against gunzip and GNU tar over the same gzip layers; medians of ${settings.runs} run(s), alternating${quick ? ' (BENCH_QUICK: smoke run, not the real targets)' : ''}.`,
  );
  out.push(
    `MB/s = uncompressed layer bytes (10^6) over wall time; Berth's wall time includes Node.js startup. ${par} layer(s) at once in Berth (min(4, cores)).`,
  );
  for (const image of [debian, small, large]) out.push(imageLine(image));
  out.push('');
  out.push(table);
  out.push('');
  out.push(ratios);
  for (const row of rows) {
    const check = at(row.id).check;
    if (check) out.push(`  ${row.image} ${row.label}: ${check}`);
  }
  if (profile) {
    out.push('');
    out.push(
      `CPU profile of one berth analyze --json of ${large.label}: ${profile.seconds.toFixed(2)} s wall, ${profile.cpuSeconds.toFixed(2)} s CPU (all threads; profiled, so slower than above)`,
    );
    out.push(renderProfile(profile.summary));
    out.push(`profile: ${profile.file}`);
  }
  const busy = samples.filter((s) => s.loadAverage > cpus().length).length;
  if (busy > 0) {
    out.push('');
    out.push(
      `warning: ${busy} of ${samples.length} commands started with a load average above ${cpus().length} (the CPU count): other work was running; compare CPU times and rerun when quiet.`,
    );
  }
  const results = {
    startedAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    settings,
    host: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryBytes: totalmem(),
      kernel: release(),
      node: process.version,
      loadAverageAtEnd: loadavg(),
    },
    tools: { gzip: version('gzip', ['--version']), tar: version('tar', ['--version']) },
    berth: {
      commit: version('git', ['-C', ROOT, 'rev-parse', 'HEAD']),
      srcChanges: spawnSync('git', ['-C', ROOT, 'status', '--porcelain', 'src'], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter(Boolean),
    },
    images: { debian, small, large },
    summary: Object.fromEntries(
      rows.map((row) => [row.id, { ...row, ...at(row.id), mbPerSecond: rate(row) }]),
    ),
    targets: {
      throughputRatio,
      throughputMet: throughputRatio >= THROUGHPUT_TARGET,
      memoryGrowth,
      memoryMet: memoryGrowth <= MEMORY_GROWTH_TARGET,
      marginalMbPerSecond: marginal,
    },
    samples,
    profile: profile && {
      ...profile,
      summary: { ...profile.summary, byFunction: profile.summary.byFunction.slice(0, 50) },
    },
  };
  const json = `${JSON.stringify(results, null, 2)}\n`;
  await writeFile(join(benchDir, `scan-${stamp}.json`), json);
  await writeFile(join(benchDir, 'scan.json'), json);
  out.push('');
  out.push(`results: ${join(benchDir, 'scan.json')} (total ${results.durationSeconds.toFixed(0)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killTracked();
    process.exit(130);
  });
}

main().catch((error: unknown) => {
  killTracked();
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
