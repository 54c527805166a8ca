// npm run bench -- gc: online garbage collection over a store of BENCH_GC_BLOBS blobs (default 100,000) and a
// tenth as many manifests, written straight into SQLite and tiny blob files. Half the blobs are referenced by
// tagged manifests, half are garbage past the grace period. Prints GC time and peak RSS at two sizes (RSS must
// stay flat in the number of blobs), and manifest GET p99 without and with a GC running (target: within 20%).
// Each size runs in a child process of its own, so one size's memory does not show in the other's.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config/config.js';
import { createLogger } from '../src/main/logger.js';
import { startServer } from '../src/main/server.js';
import { envNumber } from './bench-settings.js';
import { renderColumns } from './report.js';

const HOUR = 3_600_000;
const BLOBS_PER_MANIFEST = 5;

interface SizeResult {
  blobs: number;
  manifests: number;
  gcSeconds: number;
  blobsFreed: number;
  peakRssDeltaMiB: number;
  baselineRssMiB: number;
  getP99IdleMs: number;
  getP99DuringGcMs: number;
  getsIdle: number;
  getsDuringGc: number;
}

const hex = (n: number): string => createHash('sha256').update(`blob-${n}`).digest('hex');

/** Rows and files as a long-running registry would have them; the clock is then moved past the grace period. */
async function fill(data: string, blobs: number): Promise<{ manifests: number; startAt: number }> {
  const manifests = Math.floor(blobs / 10);
  // Start a server once so the schema is migrated, then write rows directly.
  const config = loadConfig({
    env: {},
    overrides: { listen: '127.0.0.1:0', data, 'log.level': 'silent', 'auth.mode': 'none' },
  });
  const server = await startServer(config, { log: createLogger('silent') });
  await server.close();
  const db = new Database(join(data, 'metadata.sqlite'));
  db.pragma('journal_mode = WAL');
  const old = Date.now() - 2 * HOUR;
  const insertRepo = db.prepare('insert into repositories (name, created_at) values (?, ?)');
  const repoId = Number(insertRepo.run('bench/app', old).lastInsertRowid);
  const insertBlob = db.prepare(
    'insert into blobs (digest, size, created_at, referenced_at) values (?, 16, ?, ?)',
  );
  const insertLink = db.prepare(
    'insert into repository_blobs (repository_id, digest, created_at) values (?, ?, ?)',
  );
  const insertManifest = db.prepare(
    'insert into manifests (repository_id, digest, media_type, size, content, created_at) values (?, ?, ?, ?, ?, ?)',
  );
  const insertRef = db.prepare(
    "insert into manifest_references (manifest_id, digest, kind) values (?, ?, 'blob')",
  );
  const insertTag = db.prepare(
    'insert into tags (repository_id, name, manifest_id, updated_at) values (?, ?, ?, ?)',
  );
  db.transaction(() => {
    for (let i = 0; i < blobs; i++) {
      const digest = `sha256:${hex(i)}`;
      insertBlob.run(digest, old, old);
      insertLink.run(repoId, digest, old);
    }
    // Manifest m references blobs [m*5, m*5+5): the first half of the blobs; the rest is garbage.
    for (let m = 0; m < manifests; m++) {
      const layers = Array.from(
        { length: BLOBS_PER_MANIFEST },
        (_, k) => `sha256:${hex(m * BLOBS_PER_MANIFEST + k)}`,
      );
      const content = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: layers[0], size: 16 },
          layers: layers
            .slice(1)
            .map((d) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d, size: 16 })),
        }),
      );
      const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
      const id = Number(
        insertManifest.run(
          repoId,
          digest,
          'application/vnd.oci.image.manifest.v1+json',
          content.length,
          content,
          old,
        ).lastInsertRowid,
      );
      for (const d of layers) insertRef.run(id, d);
      insertTag.run(repoId, `t${m}`, id, old);
    }
  })();
  db.close();
  const storage = join(data, 'storage', 'blobs', 'sha256');
  const prefixes = new Set<string>();
  for (let i = 0; i < blobs; i++) prefixes.add(hex(i).slice(0, 2));
  await Promise.all([...prefixes].map((p) => mkdir(join(storage, p), { recursive: true })));
  const body = Buffer.alloc(16, 1);
  for (let i = 0; i < blobs; i += 256) {
    const writes: Promise<void>[] = [];
    for (let k = i; k < Math.min(blobs, i + 256); k++) {
      const h = hex(k);
      writes.push(writeFile(join(storage, h.slice(0, 2), h), body));
    }
    await Promise.all(writes);
  }
  return { manifests, startAt: Date.now() };
}

/** GETs of manifests by tag from `workers` loops until `until()` says stop; latencies in ms. */
async function getLoad(url: string, manifests: number, until: () => boolean, workers = 4): Promise<number[]> {
  const latencies: number[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!until()) {
        const tag = `t${(n++ * 7919) % manifests}`;
        const start = performance.now();
        const res = await fetch(`${url}/v2/bench/app/manifests/${tag}`, {
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`GET ${tag}: ${res.status}`);
        latencies.push(performance.now() - start);
      }
    }),
  );
  return latencies;
}

const p99 = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
};

async function measure(blobs: number): Promise<SizeResult> {
  const data = await mkdtemp(join(tmpdir(), 'berth-bench-gc-'));
  try {
    const { manifests } = await fill(data, blobs);
    const config = loadConfig({
      env: {},
      overrides: { listen: '127.0.0.1:0', data, 'log.level': 'silent', 'auth.mode': 'none' },
    });
    const server = await startServer(config, { log: createLogger('silent') });
    try {
      // Warm up, then GETs with no GC for a fixed time.
      const warm = Date.now() + 1000;
      await getLoad(server.url, manifests, () => Date.now() > warm);
      const idleEnd = Date.now() + 4000;
      const idle = await getLoad(server.url, manifests, () => Date.now() > idleEnd);
      global.gc?.();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      const started = performance.now();
      const run = await server.gc.start({ dryRun: false, untagged: false, graceMs: HOUR, trigger: 'manual' });
      let finished = false;
      const settled = server.gc.settled().then(() => {
        finished = true;
      });
      const during = await getLoad(server.url, manifests, () => finished);
      await settled;
      const gcSeconds = (performance.now() - started) / 1000;
      clearInterval(sampler);
      const done = await server.gc.run(run.id);
      if (done?.status !== 'succeeded') throw new Error(`gc run ${done?.status}: ${done?.error}`);
      return {
        blobs,
        manifests,
        gcSeconds,
        blobsFreed: done.blobsFreed,
        peakRssDeltaMiB: (peak - baseline) / 2 ** 20,
        baselineRssMiB: baseline / 2 ** 20,
        getP99IdleMs: p99(idle),
        getP99DuringGcMs: p99(during),
        getsIdle: idle.length,
        getsDuringGc: during.length,
      };
    } finally {
      await server.close();
    }
  } finally {
    await rm(data, { recursive: true, force: true });
  }
}

const sizeArg = process.argv.indexOf('--size');
if (sizeArg > 0) {
  const result = await measure(Number(process.argv[sizeArg + 1]));
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  const large = envNumber('BENCH_GC_BLOBS', 100_000);
  const sizes = [Math.floor(large / 5), large];
  const results: SizeResult[] = [];
  for (const size of sizes) {
    process.stderr.write(`gc bench: ${size} blobs, ${size / 10} manifests\n`);
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--size', String(size)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 << 20 },
    );
    if (child.status !== 0) process.exit(child.status ?? 1);
    results.push(JSON.parse(child.stdout.trim().split('\n').pop() as string) as SizeResult);
  }
  process.stdout.write(
    renderColumns(
      [
        'blobs',
        'manifests',
        'freed',
        'GC s',
        'peak RSS +MiB',
        'GET p99 idle ms',
        'GET p99 during GC ms',
        'ratio',
      ],
      results.map((r) => [
        String(r.blobs),
        String(r.manifests),
        String(r.blobsFreed),
        r.gcSeconds.toFixed(2),
        r.peakRssDeltaMiB.toFixed(1),
        r.getP99IdleMs.toFixed(2),
        r.getP99DuringGcMs.toFixed(2),
        (r.getP99DuringGcMs / r.getP99IdleMs).toFixed(2),
      ]),
    ),
  );
  const [small, big] = results as [SizeResult, SizeResult];
  process.stdout.write(
    `peak RSS growth ${small.blobs} -> ${big.blobs} blobs: ${small.peakRssDeltaMiB.toFixed(1)} -> ${big.peakRssDeltaMiB.toFixed(1)} MiB; ` +
      `GET p99 during GC / idle at ${big.blobs}: ${(big.getP99DuringGcMs / big.getP99IdleMs).toFixed(2)} (target <= 1.20)\n`,
  );
  await mkdir('.bench', { recursive: true });
  await writeFile(join('.bench', 'gc.json'), `${JSON.stringify(results, null, 2)}\n`);
}
