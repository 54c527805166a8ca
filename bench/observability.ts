// npm run bench -- observability: what events and metrics cost the registry. Berth with both on (the
// default) against Berth with `events.enabled: false` and `metrics.enabled: false`, alternating in one run:
// manifest GET requests per second (wrk, 32 connections) and manifest pushes per second (8 concurrent
// clients, each push a new manifest by tag: one push event in its transaction), and from the push times the
// event write cost per push.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { wrkGet } from './http-load.js';
import { type RunningRegistry, startBerth } from './registry-servers.js';
import { median } from './report.js';
import { killTracked } from './run-command.js';

const quick = process.env.BENCH_QUICK === '1';
const iterations = Number(process.env.BENCH_ITERATIONS ?? (quick ? 1 : 3));
const seconds = Number(process.env.BENCH_WRK_SECONDS ?? (quick ? 3 : 10));
const pushes = Number(process.env.BENCH_PUSHES ?? (quick ? 200 : 1000));
const PUSH_CLIENTS = 8;
const REPO = 'bench/observability';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Pushes one layer and a config; returns a function making distinct manifests over them. */
async function prepare(server: RunningRegistry): Promise<(n: number) => Buffer> {
  const layer = randomBytes(64 * 1024);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [digest(layer)] },
    }),
  );
  for (const blob of [layer, config]) {
    const res = await fetch(`${server.url}/v2/${REPO}/blobs/uploads/?digest=${digest(blob)}`, {
      method: 'POST',
      body: blob,
    });
    if (res.status !== 201) throw new Error(`blob push failed: ${res.status} ${await res.text()}`);
  }
  return (n) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: digest(config),
          size: config.length,
        },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(layer), size: layer.length },
        ],
        annotations: { n: String(n) },
      }),
    );
}

async function putManifest(server: RunningRegistry, tag: string, body: Buffer): Promise<void> {
  const res = await fetch(`${server.url}/v2/${REPO}/manifests/${tag}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': OCI_MANIFEST },
  });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`manifest push failed: ${res.status}`);
}

/** `count` pushes of new manifests by 8 clients; returns seconds. */
async function pushRun(
  server: RunningRegistry,
  manifest: (n: number) => Buffer,
  first: number,
  count: number,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: PUSH_CLIENTS }, async () => {
      for (let i = next++; i < count; i = next++)
        await putManifest(server, `t${first + i}`, manifest(first + i));
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * The event write itself, without HTTP: `count` transactions storing a manifest and its tag on SQLite, with
 * and without a push event in the same transaction, alternating in rounds; returns milliseconds per push.
 */
async function eventWriteCost(root: string, count: number): Promise<{ with: number; without: number }> {
  const { openSqliteMetadata } = await import('../src/metadata/sqlite.js');
  const store = openSqliteMetadata(join(root, 'event-cost.sqlite'));
  await store.migrate();
  const id = await store.ensureRepository('bench/cost' as never);
  const times = { with: [] as number[], without: [] as number[] };
  let n = 0;
  for (let round = 0; round < 10; round++) {
    for (const variant of round % 2 === 0 ? (['with', 'without'] as const) : (['without', 'with'] as const)) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < count / 10; i++) {
        const content = Buffer.from(`{"schemaVersion":2,"n":${n++}}`);
        await store.tx(async (tx) => {
          const manifestId = await tx.putManifest(id, {
            digest: digest(content) as never,
            mediaType: OCI_MANIFEST,
            content,
            blobs: [],
            manifests: [],
          });
          await tx.setTags(id, manifestId, [`t${n}`]);
          if (variant === 'with') {
            await tx.recordEvents([
              {
                type: 'push',
                at: Date.now(),
                repository: 'bench/cost',
                project: 'bench',
                digest: digest(content),
                tag: `t${n}`,
              },
            ]);
          }
        });
      }
      times[variant].push(Number(process.hrtime.bigint() - started) / 1e6 / (count / 10));
    }
  }
  await store.close();
  return { with: median(times.with), without: median(times.without) };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'berth-bench-observability-'));
  const servers: RunningRegistry[] = [];
  const stopAll = async () => {
    for (const s of servers) await s.stop().catch(() => {});
    killTracked();
    await rm(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    const on = await startBerth(join(root, 'on'));
    servers.push(on);
    const off = await startBerth(join(root, 'off'), {
      env: { BERTH_EVENTS_ENABLED: 'false', BERTH_METRICS_ENABLED: 'false' },
    });
    servers.push(off);
    const variants = {
      on: { server: on, manifest: await prepare(on) },
      off: { server: off, manifest: await prepare(off) },
    };
    for (const { server, manifest } of Object.values(variants)) await putManifest(server, 'v1', manifest(-1));
    const accept = { Accept: OCI_MANIFEST };
    const gets = { on: [] as number[], off: [] as number[] };
    const pushRates = { on: [] as number[], off: [] as number[] };
    const pushMs = { on: [] as number[], off: [] as number[] };
    const warning = (loadavg()[0] ?? 0) > cpus().length ? ' (load above the CPU count: noisy)' : '';
    for (let i = 1; i <= iterations; i++) {
      // Alternate which variant goes first.
      const order: ('on' | 'off')[] = i % 2 === 1 ? ['on', 'off'] : ['off', 'on'];
      for (const name of order) {
        const { server, manifest } = variants[name];
        const r = await wrkGet(`${server.url}/v2/${REPO}/manifests/v1`, {
          connections: 32,
          threads: 2,
          seconds,
          headers: accept,
        });
        gets[name].push(r.requestsPerSecond);
        const took = await pushRun(server, manifest, i * pushes, pushes);
        pushRates[name].push(pushes / took);
        pushMs[name].push((took * 1000 * PUSH_CLIENTS) / pushes);
        process.stderr.write(
          `[${i}/${iterations}] ${name.padEnd(3)} GET ${r.requestsPerSecond.toFixed(0)} req/s, push ${(pushes / took).toFixed(0)} manifests/s${warning}\n`,
        );
      }
    }
    const getRatio = median(gets.on) / median(gets.off);
    const pushRatio = median(pushRates.on) / median(pushRates.off);
    const verdict = (ratio: number) => (ratio >= 0.95 ? 'MET' : 'MISSED');
    process.stdout.write(
      `\nObservability: events and metrics on (default) against off, medians of ${iterations}, alternating\n\n`,
    );
    process.stdout.write(
      `manifest GET (wrk ${seconds} s, 32 conn)  on ${median(gets.on).toFixed(0)} req/s  off ${median(gets.off).toFixed(0)} req/s  on/off ${getRatio.toFixed(3)} -> ${verdict(getRatio)}\n`,
    );
    process.stdout.write(
      `manifest push (${pushes} new, ${PUSH_CLIENTS} clients)  on ${median(pushRates.on).toFixed(0)}/s  off ${median(pushRates.off).toFixed(0)}/s  on/off ${pushRatio.toFixed(3)} -> ${verdict(pushRatio)}\n`,
    );
    process.stdout.write(
      `event write cost per push (latency on - off): ${(median(pushMs.on) - median(pushMs.off)).toFixed(3)} ms (push latency on ${median(pushMs.on).toFixed(2)} ms, off ${median(pushMs.off).toFixed(2)} ms)\n`,
    );
    const cost = await eventWriteCost(root, quick ? 500 : 5000);
    process.stdout.write(
      `event write cost per push, in process (SQLite transaction: manifest + tag ${cost.without.toFixed(3)} ms, + push event ${cost.with.toFixed(3)} ms): ${(cost.with - cost.without).toFixed(3)} ms\n`,
    );
    process.stdout.write('\ntarget: on/off >= 0.95 (within 5%) for both\n');
  } finally {
    await stopAll();
  }
}

await main();
