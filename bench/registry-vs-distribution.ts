// npm run bench: Berth against CNCF Distribution on loopback, alternating servers, medians and ratios.
// See bench/README.md for what is measured and how to read the table.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envNumber } from './bench-settings.js';
import { curlGet, wrkGet } from './http-load.js';
import { buildRandomImage, type ImageSpec, OCI_MANIFEST, type RandomImage } from './random-oci-image.js';
import {
  isDead,
  type RunningRegistry,
  type ServerKind,
  startBerth,
  startDistribution,
} from './registry-servers.js';
import { cpuRow, durationRow, MiB, memoryRow, rateRow, renderTable, type SummaryRow } from './report.js';
import { killTracked, runCommand } from './run-command.js';
import { type PhaseUsage, residentBytes, ServerMeter } from './server-meter.js';
import { Skopeo } from './skopeo.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KiB = 1024;
const MEMORY_LIMIT = 200 * MiB;
// Issue 11: berth serve idle (started, nothing asked yet) under 80 MiB; its peak over the whole run under 200.
const IDLE_LIMIT = 80 * MiB;
const IDLE_MS = envNumber('BENCH_IDLE_MS', 2000);

const quick = process.env.BENCH_QUICK === '1';
const settings = {
  quick,
  iterations: envNumber('BENCH_ITERATIONS', quick ? 1 : 3),
  wrkSeconds: envNumber('BENCH_WRK_SECONDS', quick ? 3 : 10),
  wrkConnections: envNumber('BENCH_WRK_CONNECTIONS', 32),
  // Two wrk threads keep the client from being the bottleneck; both servers share the same machine with it.
  wrkThreads: envNumber('BENCH_WRK_THREADS', 2),
  blobGets: envNumber('BENCH_BLOB_GETS', quick ? 2 : 3),
  keepTemp: process.env.BENCH_KEEP_TEMP === '1',
};

// The first image is "the large one": its push is where the memory target applies and its layer is the blob GET.
const IMAGES: ImageSpec[] = quick
  ? [
      { label: '64MiB', layers: 1, layerBytes: 64 * MiB },
      { label: '16x1MiB', layers: 16, layerBytes: 1 * MiB },
      { label: '100x64KiB', layers: 100, layerBytes: 64 * KiB },
    ]
  : [
      { label: '512MiB', layers: 1, layerBytes: 512 * MiB },
      { label: '16x16MiB', layers: 16, layerBytes: 16 * MiB },
      { label: '100x64KiB', layers: 100, layerBytes: 64 * KiB },
    ];
// The middle image's manifest (16 layers, about 2 KB) is the one hammered by wrk.
const MANIFEST_IMAGE = 1;

interface Phase extends PhaseUsage {
  /** Wall time of the client command(s). */
  seconds: number;
}

interface SessionResult {
  kind: ServerKind;
  iteration: number;
  /** 1-minute load average when the session started: other work on the machine shows up here. */
  loadAverage: number;
  /** By name: `push 512MiB`, `pull 16x16MiB`, `manifest GET`, `blob GET`. */
  phases: Record<string, Phase>;
  manifest: Awaited<ReturnType<typeof wrkGet>>;
  blobGetSeconds: number[];
  blobMiBps: number;
  /** Bytes under the server's data folder after the pushes: proof that the blobs were really uploaded. */
  storedBytes: number;
  peakRssOverall: number;
  /** Resident memory once the server answers, before any request of the bench. */
  idleRss: number;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Flushes dirty pages so that one phase's writeback (Distribution does not fsync) does not land in the next. */
function flushDisks(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

function repoName(image: RandomImage, iteration: number): string {
  return `bench/${image.spec.label.toLowerCase()}-i${iteration}`;
}

async function checkManifest(server: RunningRegistry, repo: string, image: RandomImage): Promise<void> {
  const response = await fetch(`${server.url}/v2/${repo}/manifests/${image.tag}`, {
    method: 'HEAD',
    headers: { Accept: OCI_MANIFEST },
    signal: AbortSignal.timeout(10_000),
  });
  const digest = response.headers.get('docker-content-digest');
  if (response.status !== 200 || digest !== image.manifestDigest) {
    throw new Error(
      `${server.kind} ${repo}: HEAD manifest gave ${response.status} ${digest}, expected ${image.manifestDigest}`,
    );
  }
}

/** One server instance, fresh data folder and fresh skopeo cache: push, pull, manifest load, blob GETs. */
async function runSession(
  kind: ServerKind,
  iteration: number,
  images: RandomImage[],
  work: string,
): Promise<SessionResult> {
  const dir = join(work, `${kind}-${iteration}`);
  await mkdir(dir, { recursive: true });
  const loadAverage = loadavg()[0] ?? 0;
  const server = kind === 'berth' ? await startBerth(dir) : await startDistribution(dir);
  // As the startup bench reads it: IDLE_MS after the server is ready, once start-up garbage has settled.
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const idleRss = residentBytes(server.pid) ?? 0;
  const meter = new ServerMeter(server.pid);
  const skopeo = new Skopeo(join(dir, 'skopeo'));
  const tag = `[${iteration + 1}/${settings.iterations}] ${kind.padEnd(12)}`;
  const result: SessionResult = {
    kind,
    iteration,
    loadAverage,
    phases: {},
    manifest: { requestsPerSecond: 0, requests: 0 },
    blobGetSeconds: [],
    blobMiBps: 0,
    storedBytes: 0,
    peakRssOverall: 0,
    idleRss,
  };
  /** Runs one measured step with clean disks and a fresh memory high-water mark. */
  const phase = async (
    name: string,
    run: () => Promise<number>,
    rate: (seconds: number) => string,
  ): Promise<Phase> => {
    flushDisks();
    meter.beginPhase();
    const seconds = await run();
    const measured: Phase = { seconds, ...meter.endPhase() };
    result.phases[name] = measured;
    log(
      `${tag} ${name.padEnd(16)} ${seconds.toFixed(2).padStart(6)} s  ${rate(seconds).padStart(14)}  server CPU ${measured.cpuSeconds.toFixed(2).padStart(5)} s  peak RSS ${mib(measured.peakRss)}`,
    );
    return measured;
  };
  const mibps = (bytes: number) => (seconds: number) => `${(bytes / MiB / seconds).toFixed(1)} MiB/s`;
  try {
    for (const image of images) {
      const repo = repoName(image, iteration);
      await phase(
        `push ${image.spec.label}`,
        () => skopeo.push(image, server.hostPort, repo),
        mibps(image.totalBytes),
      );
      await checkManifest(server, repo, image);
    }
    result.storedBytes = await folderBytes(server.data);
    const pushed = images.reduce((sum, image) => sum + image.totalBytes - image.config.size, 0);
    if (result.storedBytes < pushed) {
      throw new Error(
        `${kind} stores ${result.storedBytes} bytes after pushing ${pushed}: blobs were not uploaded`,
      );
    }

    for (const image of images) {
      const repo = repoName(image, iteration);
      const dest = join(dir, `pull-${image.spec.label}`);
      await phase(
        `pull ${image.spec.label}`,
        () => skopeo.pull(image, server.hostPort, repo, dest),
        mibps(image.totalBytes),
      );
      await rm(dest, { recursive: true, force: true });
    }

    const target = images[MANIFEST_IMAGE] as RandomImage;
    const manifestUrl = `${server.url}/v2/${repoName(target, iteration)}/manifests/${target.tag}`;
    await phase(
      'manifest GET',
      async () => {
        result.manifest = await wrkGet(manifestUrl, {
          connections: settings.wrkConnections,
          threads: settings.wrkThreads,
          seconds: settings.wrkSeconds,
          headers: { Accept: OCI_MANIFEST },
        });
        return settings.wrkSeconds;
      },
      () => `${result.manifest.requestsPerSecond.toFixed(0)} req/s`,
    );

    const large = images[0] as RandomImage;
    const layer = large.layers[0] as { digest: string; size: number };
    const blobUrl = `${server.url}/v2/${repoName(large, iteration)}/blobs/${layer.digest}`;
    const blobs = await phase(
      'blob GET',
      async () => {
        for (let i = 0; i < settings.blobGets; i++)
          result.blobGetSeconds.push(await curlGet(blobUrl, layer.size));
        return result.blobGetSeconds.reduce((a, b) => a + b, 0);
      },
      mibps(layer.size * settings.blobGets),
    );
    result.blobMiBps = (layer.size * settings.blobGets) / MiB / blobs.seconds;
  } catch (error) {
    log(`${kind} log tail:\n${await server.logTail()}`);
    throw error;
  } finally {
    result.peakRssOverall = meter.stop();
    await server.stop();
    if (!isDead(server.pid)) log(`warning: ${kind} pid ${server.pid} still alive after stop`);
    if (!settings.keepTemp) await rm(dir, { recursive: true, force: true });
  }
  log(`${tag} idle RSS ${mib(result.idleRss)}, peak RSS overall ${mib(result.peakRssOverall)}`);
  return result;
}

function summarize(
  images: RandomImage[],
  sessions: SessionResult[],
): { main: SummaryRow[]; cpu: SummaryRow[] } {
  const both = (pick: (s: SessionResult) => number): [number[], number[]] => [
    sessions.filter((s) => s.kind === 'berth').map(pick),
    sessions.filter((s) => s.kind === 'distribution').map(pick),
  ];
  const phase = (name: string) => (s: SessionResult) => s.phases[name] as Phase;
  const main: SummaryRow[] = [];
  for (const verb of ['push', 'pull']) {
    for (const image of images) {
      const name = `${verb} ${image.spec.label}`;
      main.push(durationRow(name, image.totalBytes, ...both((s) => phase(name)(s).seconds)));
    }
  }
  main.push(
    rateRow(
      `manifest GET, ${settings.wrkConnections} conns`,
      'req/s',
      ...both((s) => s.manifest.requestsPerSecond),
    ),
  );
  main.push(
    rateRow(`blob GET ${(images[0] as RandomImage).spec.label} layer`, 'MiB/s', ...both((s) => s.blobMiBps)),
  );
  const large = `push ${(images[0] as RandomImage).spec.label}`;
  main.push(memoryRow(`peak RSS during ${large}`, ...both((s) => phase(large)(s).peakRss), MEMORY_LIMIT));
  main.push(memoryRow('idle RSS (started, no request yet)', ...both((s) => s.idleRss), IDLE_LIMIT));
  main.push(memoryRow('peak RSS overall', ...both((s) => s.peakRssOverall), MEMORY_LIMIT));
  const cpu = Object.keys(sessions[0]?.phases ?? {}).map((name) =>
    cpuRow(name, ...both((s) => phase(name)(s).cpuSeconds)),
  );
  return { main, cpu };
}

function version(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? 'unknown';
}

async function buildBerth(): Promise<void> {
  if (process.env.BENCH_SKIP_BUILD === '1') {
    log('BENCH_SKIP_BUILD=1: using dist/ as it is');
    return;
  }
  log('building Berth (npm run build) so the compiled server is measured, not tsx');
  await runCommand('npm', ['run', 'build'], { cwd: ROOT, timeoutMs: 5 * 60 * 1000 });
}

async function main(): Promise<void> {
  for (const [tool, args] of [
    ['skopeo', ['--version']],
    ['wrk', ['--version']],
    ['curl', ['--version']],
    ['docker-registry', ['--version']],
  ] as const) {
    if (spawnSync(tool, args, { stdio: 'ignore' }).error)
      throw new Error(`${tool} is not installed (see TESTING.md)`);
  }
  await buildBerth();
  const base = process.env.BENCH_TMPDIR ?? tmpdir();
  const work = await mkdtemp(join(base, 'berth-bench-'));
  const cleanup = async (): Promise<void> => {
    killTracked();
    if (!settings.keepTemp) await rm(work, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping servers and removing ${work}`);
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const started = Date.now();
    log(`building ${IMAGES.length} random OCI layouts in ${work}`);
    const images: RandomImage[] = [];
    for (const spec of IMAGES) images.push(await buildRandomImage(join(work, 'images', spec.label), spec));
    log(
      `images ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${images.map((i) => `${i.spec.label} ${mib(i.totalBytes)}`).join(', ')}`,
    );

    const sessions: SessionResult[] = [];
    for (let i = 0; i < settings.iterations; i++) {
      // Alternate the servers so that drift on the machine (other load, page cache, thermal) hits both alike.
      for (const kind of ['berth', 'distribution'] as const)
        sessions.push(await runSession(kind, i, images, work));
    }
    const { main: rows, cpu } = summarize(images, sessions);
    const throughput = rows.filter((r) => r.kind !== 'memory');
    const allMet = rows.every((r) => !r.target || r.target.met);

    const out: string[] = [];
    out.push('');
    out.push(
      `Berth vs CNCF Distribution on loopback: medians of ${settings.iterations} iteration(s), servers alternating${quick ? ' (BENCH_QUICK: smoke run, not the real targets)' : ''}`,
    );
    out.push(
      `Durations are per skopeo copy; MiB/s is image bytes over that time. Berth/Dist above 1.00 means Berth is faster.`,
    );
    out.push('');
    out.push(renderTable(rows));
    out.push('');
    out.push(
      'Server CPU time per phase (user+system, median): what each server spent, whatever else the machine did.',
    );
    out.push('');
    out.push(renderTable(cpu));
    const busy = sessions.filter((s) => s.loadAverage > cpus().length).length;
    if (busy > 0) {
      out.push('');
      out.push(
        `warning: ${busy} of ${sessions.length} sessions started with a load average above ${cpus().length} (the CPU count): other work was running; compare CPU times and rerun when quiet.`,
      );
    }
    out.push('');
    out.push(
      `targets: ${throughput.filter((r) => r.target?.met).length}/${throughput.length} throughput figures at or above Distribution; ` +
        `memory ${rows.find((r) => r.metric.startsWith('peak RSS during'))?.target?.met ? 'under' : 'NOT under'} ${MEMORY_LIMIT / MiB} MiB during the large push, ` +
        `${rows.find((r) => r.metric === 'peak RSS overall')?.target?.met ? 'under' : 'NOT under'} ${MEMORY_LIMIT / MiB} MiB over the whole run, ` +
        `idle ${rows.find((r) => r.metric.startsWith('idle RSS'))?.target?.met ? 'under' : 'NOT under'} ${IDLE_LIMIT / MiB} MiB` +
        ` -> ${allMet ? 'ALL TARGETS MET' : 'SOME TARGETS MISSED'}`,
    );
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
      },
      tools: {
        skopeo: version('skopeo', ['--version']),
        distribution: version('docker-registry', ['--version']),
        wrk: version('wrk', ['--version']),
        curl: version('curl', ['--version']),
      },
      berth: {
        commit: version('git', ['-C', ROOT, 'rev-parse', 'HEAD']),
        srcChanges: spawnSync('git', ['-C', ROOT, 'status', '--porcelain', 'src'], { encoding: 'utf8' })
          .stdout.trim()
          .split('\n')
          .filter(Boolean),
      },
      images: images.map((i) => ({
        label: i.spec.label,
        layers: i.spec.layers,
        layerPayloadBytes: i.spec.layerBytes,
        totalBytes: i.totalBytes,
        manifestDigest: i.manifestDigest,
      })),
      summary: rows,
      serverCpu: cpu,
      sessions,
      allTargetsMet: allMet,
    };
    await mkdir(join(ROOT, '.bench'), { recursive: true });
    const file = join(
      ROOT,
      '.bench',
      `registry-vs-distribution-${results.startedAt.replace(/[:.]/g, '-')}.json`,
    );
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    out.push(`results: ${file} (total ${results.durationSeconds.toFixed(0)} s)`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  killTracked();
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
