// npm run bench -- auth: what access checks cost the registry. Manifest GET requests per second at 32
// connections against Berth without auth and against Berth with token auth where every request carries a
// bearer token (and, for information, Basic credentials on every request), alternating, in one run.
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
const REPO = 'bench/auth';
const PASSWORD = randomBytes(12).toString('hex');
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Pushes a small image (one 64 KiB layer) with plain fetch; returns the manifest path to load. */
async function pushImage(server: RunningRegistry, authorization: string | undefined): Promise<string> {
  const headers: Record<string, string> = authorization ? { authorization } : {};
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
      headers,
    });
    if (res.status !== 201)
      throw new Error(`blob push to ${server.url} failed: ${res.status} ${await res.text()}`);
  }
  const manifest = Buffer.from(
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
    }),
  );
  const res = await fetch(`${server.url}/v2/${REPO}/manifests/v1`, {
    method: 'PUT',
    body: manifest,
    headers: { ...headers, 'content-type': OCI_MANIFEST },
  });
  if (res.status !== 201) throw new Error(`manifest push failed: ${res.status} ${await res.text()}`);
  return `${server.url}/v2/${REPO}/manifests/v1`;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'berth-bench-auth-'));
  const servers: RunningRegistry[] = [];
  const stopAll = async () => {
    for (const s of servers) await s.stop().catch(() => {});
    killTracked();
    await rm(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    const open = await startBerth(join(root, 'open'));
    servers.push(open);
    const guarded = await startBerth(join(root, 'guarded'), { auth: 'token', adminPassword: PASSWORD });
    servers.push(guarded);
    const basic = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
    const openUrl = await pushImage(open, undefined);
    const guardedUrl = await pushImage(guarded, basic);
    const tokenResponse = await fetch(
      `${guarded.url}/token?service=berth-registry&scope=repository:${REPO}:pull`,
      {
        headers: { authorization: basic },
      },
    );
    const { token } = (await tokenResponse.json()) as { token: string };
    const accept = { Accept: OCI_MANIFEST };
    const results = { open: [] as number[], bearer: [] as number[], basic: [] as number[] };
    const warning = (loadavg()[0] ?? 0) > cpus().length ? ' (load above the CPU count: noisy)' : '';
    for (let i = 1; i <= iterations; i++) {
      const runs: [keyof typeof results, string, Record<string, string>][] = [
        ['open', openUrl, accept],
        ['bearer', guardedUrl, { ...accept, Authorization: `Bearer ${token}` }],
        ['basic', guardedUrl, { ...accept, Authorization: basic }],
      ];
      // Rotate the order each iteration so no variant always runs first.
      for (const [name, url, headers] of [...runs.slice(i % 3), ...runs.slice(0, i % 3)]) {
        const r = await wrkGet(url, { connections: 32, threads: 2, seconds, headers });
        results[name].push(r.requestsPerSecond);
        process.stderr.write(
          `[${i}/${iterations}] ${name.padEnd(6)} ${r.requestsPerSecond.toFixed(0)} req/s${warning}\n`,
        );
      }
    }
    const line = (name: string, values: number[]) =>
      `${name.padEnd(44)} ${median(values).toFixed(0).padStart(7)} req/s  ${(median(values) / median(results.open)).toFixed(2)}x`;
    const ratio = median(results.bearer) / median(results.open);
    process.stdout.write(
      `\nAccess checks: manifest GET at 32 connections (wrk ${seconds} s), medians of ${iterations}, ratio to no auth\n\n`,
    );
    process.stdout.write(`${line('Berth, auth: none', results.open)}\n`);
    process.stdout.write(`${line('Berth, token auth, bearer token each request', results.bearer)}\n`);
    process.stdout.write(`${line('Berth, token auth, Basic on each request', results.basic)}\n`);
    process.stdout.write(
      `\nbearer / no auth = ${ratio.toFixed(2)} -> ${ratio >= 0.85 ? 'MET' : 'MISSED'} (target: within 15%, >= 0.85)\n`,
    );
  } finally {
    await stopAll();
  }
}

await main();
