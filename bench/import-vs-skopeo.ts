// npm run bench -- import: `berth push` against `skopeo copy` importing a docker-archive into CNCF Distribution,
// alternating clients, medians and ratios; re-push and resume after a kill. See bench/README.md.
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envNumber } from './bench-settings.js';
import { CountingProxy } from './counting-proxy.js';
import { type ProfileSummary, renderProfile, summarizeCpuProfile } from './cpu-profile.js';
import { buildDockerArchive, type DockerArchiveImage } from './docker-archive-image.js';
import { buildRealCases, measureRealCases, realCaseTable } from './real-image-import.js';
import { isDead, type RunningRegistry, startDistribution } from './registry-servers.js';
import { MiB, median, renderColumns } from './report.js';
import { killTracked, runCommand, startCommand } from './run-command.js';
import { exitedChildrenCpuSeconds, ServerMeter } from './server-meter.js';
import { Skopeo } from './skopeo.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BERTH_BIN = join(ROOT, 'bin', 'berth.js');
const REPO = 'bench/import';
const TAG = 'v1';
const PUSH_TIMEOUT_MS = 10 * 60 * 1000;
const SPEED_TARGET = 1.5;
const REPUSH_TARGET_SECONDS = 1;
const RESUME_TARGET = 1.2;
const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
].join(', ');

const quick = process.env.BENCH_QUICK === '1';
const profileChoice = process.env.BENCH_PROFILE ?? '';
const settings = {
  quick,
  iterations: envNumber('BENCH_ITERATIONS', quick ? 1 : 7),
  layers: 16,
  layerBytes: (quick ? 1 : 16) * MiB,
  /** `auto`, `gzip` or `none` (`1` means `auto`): one more push under `node --cpu-prof`, summarized. */
  profile: profileChoice === '1' ? 'auto' : profileChoice,
  keepTemp: process.env.BENCH_KEEP_TEMP === '1',
  /** `synthetic` or `real`: run only those cases (default: both). */
  only: process.env.BENCH_IMPORT_ONLY ?? '',
  realIterations: envNumber('BENCH_REAL_ITERATIONS', quick ? 1 : 3),
};

type ClientId = 'berth' | 'berth-gzip' | 'berth-none' | 'skopeo';

/** The clients, in the order of the first iteration; later iterations rotate it. */
const CLIENTS: { id: ClientId; label: string; berthArgs?: string[] }[] = [
  { id: 'berth', label: 'berth push (default: --compression auto)', berthArgs: [] },
  { id: 'skopeo', label: 'skopeo copy docker-archive: docker://' },
  { id: 'berth-gzip', label: 'berth push --compression gzip', berthArgs: ['--compression', 'gzip'] },
  { id: 'berth-none', label: 'berth push --compression none', berthArgs: ['--compression', 'none'] },
];

interface BerthJson {
  digest: string;
  uploadedBytes: number;
  seconds: number;
  blobs: { digest: string; size: number; action: 'exists' | 'mounted' | 'uploaded' }[];
}

interface ClientRun {
  /** Wall time of the command, process start to exit. */
  seconds: number;
  /** User + system CPU of the client process, all its threads. */
  clientCpuSeconds: number;
  digest: string;
  /** Berth's own report (`--json`): its copy time (without Node.js startup), bytes uploaded, blob actions. */
  berth?: BerthJson;
  /** HTTP requests and upload sessions started (POST …/blobs/uploads/), from `--debug` output. */
  requests?: number;
  uploads?: number;
  /** GETs of an upload session: a resumed push asking where an interrupted upload stands. */
  statusChecks?: number;
  /** …of which the registry still knew (2xx): those continue from the registry's offset. */
  statusValid?: number;
  /** Bytes the client sent, when it went through the counting proxy. */
  sentBytes?: number;
}

interface PushRun extends ClientRun {
  client: ClientId;
  iteration: number;
  loadAverage: number;
  serverCpuSeconds: number;
  serverPeakRss: number;
  /** Bytes under Distribution's blobs/ after the push: every blob the image is made of, stored once. */
  storedBytes: number;
  /** Same registry, same client cache: everything is there. */
  repush?: ClientRun;
  /** Same registry, empty client cache (a fresh CI runner): everything is there, but the client cannot know. */
  repushEmptyCache?: ClientRun;
}

interface ResumeRun {
  client: 'berth' | 'skopeo';
  /** What a full push of the image stores (the median of the fresh pushes): the yardstick. */
  imageBytes: number;
  /** Proxy count when the client was killed, and what had passed once it was dead. */
  killedAtBytes: number | undefined;
  firstRunBytes: number;
  secondRunBytes: number;
  second: ClientRun;
  /** (first + second) / image bytes. */
  ratio: number;
  /** skopeo inspect of the tag, from the registry itself, equals the digest the client printed. */
  verifiedDigest: string;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

function flushDisks(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Distribution's blob store: the bytes of every blob, each once. */
function blobsFolder(server: RunningRegistry): string {
  return join(server.data, 'docker', 'registry', 'v2', 'blobs');
}

async function registryDigest(server: RunningRegistry): Promise<string | null> {
  const response = await fetch(`${server.url}/v2/${REPO}/manifests/${TAG}`, {
    method: 'HEAD',
    headers: { Accept: MANIFEST_ACCEPT },
    signal: AbortSignal.timeout(10_000),
  });
  return response.status === 200 ? response.headers.get('docker-content-digest') : null;
}

/** Counts the HTTP requests and upload sessions in `--debug` output (Berth's `> METHOD URL`, skopeo's `msg="METHOD URL"`). */
function countRequests(stderr: string): {
  requests: number;
  uploads: number;
  statusChecks: number;
  statusValid: number;
} {
  const lines = stderr.split('\n');
  const requests = lines.filter((l) => /^> [A-Z]+ https?:\/\/|msg="[A-Z]+ https?:\/\//.test(l));
  return {
    requests: requests.length,
    uploads: requests.filter((l) => /(?:^> |msg=")POST \S+\/blobs\/uploads\//.test(l)).length,
    statusChecks: requests.filter((l) => /(?:^> |msg=")GET \S+\/blobs\/uploads\/[^/?\s]+/.test(l)).length,
    // Berth's `< STATUS METHOD URL` lines: the saved sessions the registry still accepted.
    statusValid: lines.filter((l) => /^< 2\d\d GET \S+\/blobs\/uploads\/[^/?\s]+/.test(l)).length,
  };
}

interface ClientContext {
  archive: DockerArchiveImage;
  /** Folder of this run: the Berth cache, skopeo's home and the empty credential files live here. */
  dir: string;
}

function berthEnv(cacheDir: string, dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BERTH_CACHE_DIR: cacheDir,
    // No stored credentials of the machine's: an anonymous push, as skopeo's --dest-no-creds.
    DOCKER_CONFIG: join(dir, 'docker-config'),
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
  };
}

function berthArgs(client: ClientId, archive: DockerArchiveImage, dest: string, debug: boolean): string[] {
  const extra = CLIENTS.find((c) => c.id === client)?.berthArgs ?? [];
  return [
    BERTH_BIN,
    'push',
    '--json',
    ...(debug ? ['--debug'] : []),
    ...extra,
    `docker-archive:${archive.path}`,
    `docker://${dest}`,
  ];
}

/** One client command, timed, with its CPU time; `cache` names the Berth cache or skopeo home to use. */
async function runClient(
  client: ClientId,
  context: ClientContext,
  dest: string,
  cache: string,
  options: { debug?: boolean } = {},
): Promise<ClientRun> {
  const cpuBefore = exitedChildrenCpuSeconds();
  if (client === 'skopeo') {
    const skopeo = new Skopeo(cache);
    const result = await skopeo.pushArchive(context.archive.path, dest, options.debug ?? false);
    return {
      seconds: result.seconds,
      clientCpuSeconds: exitedChildrenCpuSeconds() - cpuBefore,
      digest: result.digest,
      ...(options.debug ? countRequests(result.stderr) : {}),
    };
  }
  const result = await runCommand(
    process.execPath,
    berthArgs(client, context.archive, dest, options.debug ?? false),
    {
      env: berthEnv(cache, context.dir),
      timeoutMs: PUSH_TIMEOUT_MS,
    },
  );
  const clientCpuSeconds = exitedChildrenCpuSeconds() - cpuBefore;
  const berth = JSON.parse(result.stdout) as BerthJson;
  return {
    seconds: result.seconds,
    clientCpuSeconds,
    digest: berth.digest,
    berth: { ...berth, blobs: berth.blobs.map(({ digest, size, action }) => ({ digest, size, action })) },
    ...(options.debug ? countRequests(result.stderr) : {}),
  };
}

/**
 * One measured push: a fresh Distribution (new root folder, new port), a fresh client cache, the push timed;
 * then, for the default Berth and skopeo, the two re-pushes of the same image into the same repository.
 */
async function measurePush(
  client: ClientId,
  iteration: number,
  archive: DockerArchiveImage,
  work: string,
): Promise<PushRun> {
  const dir = join(work, `i${iteration}-${client}`);
  await mkdir(dir, { recursive: true });
  const server = await startDistribution(join(dir, 'registry'));
  const meter = new ServerMeter(server.pid);
  const context: ClientContext = { archive, dir };
  const dest = `${server.hostPort}/${REPO}:${TAG}`;
  const cache = join(dir, 'client-cache');
  const tag = `[${iteration + 1}/${settings.iterations}] ${client.padEnd(10)}`;
  try {
    flushDisks();
    const loadAverage = loadavg()[0] ?? 0;
    meter.beginPhase();
    const pushed = await runClient(client, context, dest, cache);
    const usage = meter.endPhase();
    const served = await registryDigest(server);
    if (served !== pushed.digest)
      throw new Error(`${client}: registry serves ${served}, the client printed ${pushed.digest}`);
    const storedBytes = await folderBytes(blobsFolder(server));
    const run: PushRun = {
      client,
      iteration,
      loadAverage,
      ...pushed,
      serverCpuSeconds: usage.cpuSeconds,
      serverPeakRss: usage.peakRss,
      storedBytes,
    };
    log(
      `${tag} push        ${pushed.seconds.toFixed(2).padStart(6)} s  ${(archive.layerBytes / MiB / pushed.seconds).toFixed(1).padStart(6)} MiB/s  client CPU ${pushed.clientCpuSeconds.toFixed(2)} s  registry CPU ${usage.cpuSeconds.toFixed(2)} s  stored ${mib(storedBytes)}  load ${loadAverage.toFixed(1)}`,
    );
    if (client === 'berth' || client === 'skopeo') {
      run.repush = await runClient(client, context, dest, cache, { debug: true });
      if (run.repush.digest !== pushed.digest) throw new Error(`${client}: re-push gave another digest`);
      log(
        `${tag} re-push     ${run.repush.seconds.toFixed(2).padStart(6)} s  ${run.repush.requests} requests, ${run.repush.uploads} uploads`,
      );
      // Through the counting proxy, to see what a client with an empty cache sends when all is there.
      const proxy = await CountingProxy.start(Number(server.hostPort.split(':')[1]));
      try {
        const fresh = join(dir, 'client-cache-empty');
        const again = await runClient(client, context, `${proxy.hostPort}/${REPO}:${TAG}`, fresh, {
          debug: true,
        });
        run.repushEmptyCache = { ...again, sentBytes: proxy.sent };
      } finally {
        await proxy.stop();
      }
      log(
        `${tag} re-push, empty cache ${run.repushEmptyCache.seconds.toFixed(2).padStart(6)} s  sent ${mib(run.repushEmptyCache.sentBytes ?? 0)}`,
      );
    }
    return run;
  } catch (error) {
    log(`distribution log tail:\n${await server.logTail()}`);
    throw error;
  } finally {
    meter.stop();
    await server.stop();
    if (!isDead(server.pid)) log(`warning: distribution pid ${server.pid} still alive after stop`);
    if (!settings.keepTemp) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The resume case: the push goes through a counting proxy, the client is killed (SIGKILL: no chance to
 * clean up) once half the image's bytes have passed, then the same command runs again with the same cache.
 */
async function measureResume(
  client: 'berth' | 'skopeo',
  archive: DockerArchiveImage,
  imageBytes: number,
  work: string,
): Promise<ResumeRun> {
  const dir = join(work, `resume-${client}`);
  await mkdir(dir, { recursive: true });
  const server = await startDistribution(join(dir, 'registry'));
  const proxy = await CountingProxy.start(Number(server.hostPort.split(':')[1]));
  const dest = `${proxy.hostPort}/${REPO}:${TAG}`;
  const cache = join(dir, 'client-cache');
  const context: ClientContext = { archive, dir };
  try {
    flushDisks();
    const first =
      client === 'berth'
        ? startCommand(process.execPath, berthArgs('berth', archive, dest, false), {
            env: berthEnv(cache, dir),
            timeoutMs: PUSH_TIMEOUT_MS,
          })
        : await new Skopeo(cache).startPushArchive(archive.path, dest);
    let killedAtBytes: number | undefined;
    proxy.onUpstreamBytes = (total) => {
      if (killedAtBytes === undefined && total >= imageBytes / 2) {
        killedAtBytes = total;
        first.child.kill('SIGKILL');
      }
    };
    const exit = await first.exited;
    proxy.onUpstreamBytes = undefined;
    if (exit.signal !== 'SIGKILL' && exit.code !== 0)
      throw new Error(`${client} first run exited ${exit.code}\n${exit.stderr.slice(-4000)}`);
    if (killedAtBytes === undefined) log(`warning: ${client} finished before half of the image was sent`);
    // Let the sockets of the dead client close so that every byte it sent is counted in the first run.
    await new Promise((r) => setTimeout(r, 200));
    const firstRunBytes = proxy.sent;
    const second = await runClient(client, context, dest, cache, { debug: true });
    const secondRunBytes = proxy.sent - firstRunBytes;
    const verifiedDigest = await new Skopeo(join(dir, 'inspect')).inspectDigest(
      `${server.hostPort}/${REPO}:${TAG}`,
    );
    if (verifiedDigest !== second.digest)
      throw new Error(
        `${client} resume: registry has ${verifiedDigest}, the client printed ${second.digest}`,
      );
    const run: ResumeRun = {
      client,
      imageBytes,
      killedAtBytes,
      firstRunBytes,
      secondRunBytes,
      second: { ...second, sentBytes: secondRunBytes },
      ratio: (firstRunBytes + secondRunBytes) / imageBytes,
      verifiedDigest,
    };
    log(
      `resume ${client.padEnd(6)} killed at ${mib(killedAtBytes ?? 0)}, first run sent ${mib(firstRunBytes)}, second ${mib(secondRunBytes)} in ${second.seconds.toFixed(2)} s: ${run.ratio.toFixed(2)}x the image`,
    );
    return run;
  } catch (error) {
    log(`distribution log tail:\n${await server.logTail()}`);
    throw error;
  } finally {
    await proxy.stop();
    await server.stop();
    if (!settings.keepTemp) await rm(dir, { recursive: true, force: true });
  }
}

interface ProfileRun {
  compression: string;
  seconds: number;
  clientCpuSeconds: number;
  file: string;
  summary: ProfileSummary;
}

/** One more Berth push, to a fresh registry with a fresh cache, under `node --cpu-prof`. */
async function profilePush(
  archive: DockerArchiveImage,
  work: string,
  compression: string,
  outFile: string,
): Promise<ProfileRun> {
  const dir = join(work, 'profile');
  await mkdir(dir, { recursive: true });
  const server = await startDistribution(join(dir, 'registry'));
  try {
    flushDisks();
    const profiles = join(dir, 'cpuprofile');
    const cpuBefore = exitedChildrenCpuSeconds();
    const result = await runCommand(
      process.execPath,
      [
        `--cpu-prof-dir=${profiles}`,
        '--cpu-prof',
        BERTH_BIN,
        'push',
        '--json',
        '--compression',
        compression,
        `docker-archive:${archive.path}`,
        `docker://${server.hostPort}/${REPO}:${TAG}`,
      ],
      { env: berthEnv(join(dir, 'client-cache'), dir), timeoutMs: PUSH_TIMEOUT_MS },
    );
    const clientCpuSeconds = exitedChildrenCpuSeconds() - cpuBefore;
    const [name] = (await readdir(profiles)).filter((f) => f.endsWith('.cpuprofile'));
    if (!name) throw new Error('node --cpu-prof wrote no profile');
    await copyFile(join(profiles, name), outFile);
    return {
      compression,
      seconds: result.seconds,
      clientCpuSeconds,
      file: outFile,
      summary: await summarizeCpuProfile(outFile),
    };
  } finally {
    await server.stop();
    if (!settings.keepTemp) await rm(dir, { recursive: true, force: true });
  }
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
  log('building Berth (npm run build) so the compiled CLI is measured, not tsx');
  await runCommand('npm', ['run', 'build'], { cwd: ROOT, timeoutMs: 5 * 60 * 1000 });
}

function range(values: number[], digits = 2): string {
  return `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
}

function bytesText(bytes: number): string {
  if (bytes === 0) return '0 B';
  return bytes < MiB ? `${(bytes / 1024).toFixed(1)} KiB` : mib(bytes);
}

function pushTable(runs: PushRun[], archive: DockerArchiveImage): { text: string; ratio: number } {
  const of = (id: ClientId) => runs.filter((r) => r.client === id);
  const skopeoSeconds = median(of('skopeo').map((r) => r.seconds));
  let defaultRatio = Number.NaN;
  const rows = CLIENTS.map(({ id, label }) => {
    const mine = of(id);
    const seconds = median(mine.map((r) => r.seconds));
    const ratio = skopeoSeconds / seconds;
    if (id === 'berth') defaultRatio = ratio;
    const own = mine.flatMap((r) => (r.berth ? [r.berth.seconds] : []));
    return [
      label,
      seconds.toFixed(2),
      (archive.layerBytes / MiB / seconds).toFixed(1),
      range(mine.map((r) => r.seconds)),
      id === 'skopeo' ? '1.00x' : `${ratio.toFixed(2)}x`,
      own.length ? median(own).toFixed(2) : '-',
      median(mine.map((r) => r.clientCpuSeconds)).toFixed(2),
      median(mine.map((r) => r.serverCpuSeconds)).toFixed(2),
      mib(median(mine.map((r) => r.storedBytes))),
      id === 'berth'
        ? `${ratio >= SPEED_TARGET ? 'MET   ' : 'MISSED'} skopeo/berth >= ${SPEED_TARGET.toFixed(2)}`
        : '',
    ];
  });
  const header = [
    'client',
    'wall s',
    'MiB/s',
    'min-max s',
    'skopeo/this',
    'own s',
    'client CPU s',
    'registry CPU s',
    'stored',
    'target',
  ];
  return { text: renderColumns(header, rows, [0, 9]), ratio: defaultRatio };
}

function repushTable(runs: PushRun[]): { text: string; met: boolean } {
  const rows: string[][] = [];
  let met = false;
  for (const [key, label] of [
    ['repush', 'same cache'],
    ['repushEmptyCache', 'empty cache'],
  ] as const) {
    for (const client of ['berth', 'skopeo'] as const) {
      const all = runs.filter((r) => r.client === client).flatMap((r) => (r[key] ? [r[key]] : []));
      if (all.length === 0) continue;
      const seconds = median(all.map((r) => r.seconds));
      const uploaded = all.flatMap((r) => (r.berth ? [r.berth.uploadedBytes] : []));
      const sent = all.flatMap((r) => (r.sentBytes !== undefined ? [r.sentBytes] : []));
      let target = '';
      if (client === 'berth' && key === 'repush') {
        met = seconds < REPUSH_TARGET_SECONDS && uploaded.every((u) => u === 0);
        target = `${met ? 'MET   ' : 'MISSED'} < ${REPUSH_TARGET_SECONDS} s, 0 bytes uploaded`;
      }
      rows.push([
        `re-push, ${label}`,
        client,
        seconds.toFixed(2),
        range(all.map((r) => r.seconds)),
        median(all.map((r) => r.clientCpuSeconds)).toFixed(2),
        String(median(all.map((r) => r.requests ?? Number.NaN))),
        String(median(all.map((r) => r.uploads ?? Number.NaN))),
        uploaded.length ? bytesText(median(uploaded)) : '-',
        sent.length ? bytesText(median(sent)) : '-',
        target,
      ]);
    }
  }
  const header = [
    'case',
    'client',
    'wall s',
    'min-max s',
    'client CPU s',
    'requests',
    'uploads',
    'uploadedBytes',
    'sent (proxy)',
    'target',
  ];
  return { text: renderColumns(header, rows, [0, 1, 9]), met };
}

function resumeTable(runs: ResumeRun[]): { text: string; met: boolean } {
  let met = false;
  const rows = runs.map((r) => {
    const counts = { exists: 0, mounted: 0, uploaded: 0 };
    for (const blob of r.second.berth?.blobs ?? []) counts[blob.action]++;
    let target = '';
    if (r.client === 'berth') {
      met = r.ratio <= RESUME_TARGET && r.killedAtBytes !== undefined;
      target = `${met ? 'MET   ' : 'MISSED'} <= ${RESUME_TARGET.toFixed(2)}x`;
    }
    return [
      r.client,
      mib(r.imageBytes),
      r.killedAtBytes === undefined ? 'not killed' : mib(r.killedAtBytes),
      mib(r.firstRunBytes),
      mib(r.secondRunBytes),
      r.second.seconds.toFixed(2),
      r.second.berth
        ? `${counts.exists} there, ${counts.uploaded} uploaded, ${r.second.statusChecks ?? 0} sessions asked, ${r.second.statusValid ?? 0} valid`
        : `${r.second.uploads ?? '?'} uploads`,
      `${r.ratio.toFixed(2)}x`,
      r.verifiedDigest === r.second.digest ? 'same' : 'DIFFERENT',
      target,
    ];
  });
  const header = [
    'client',
    'image',
    'killed at',
    '1st run sent',
    '2nd run sent',
    '2nd run s',
    '2nd run blobs',
    'total/image',
    'digest (skopeo inspect)',
    'target',
  ];
  return { text: renderColumns(header, rows, [0, 6, 8, 9]), met };
}

/** The synthetic image (16 layers, half random, half text): push, re-push and resume against skopeo. */
async function syntheticCases(work: string): Promise<void> {
  const started = Date.now();
  const archive = await buildDockerArchive(join(work, 'image.tar'), {
    layers: settings.layers,
    layerBytes: settings.layerBytes,
  });
  const ratios = (kind: string) =>
    archive.layers.filter((l) => l.kind === kind).map((l) => l.gzipRatio.toFixed(2));
  log(
    `docker-archive ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${archive.layers.length} layers, ${mib(archive.layerBytes)} of layer tars; gzip -1 ratio of random layers ${median(ratios('random').map(Number)).toFixed(2)}, text layers ${median(ratios('text').map(Number)).toFixed(2)}`,
  );

  const runs: PushRun[] = [];
  for (let i = 0; i < settings.iterations; i++) {
    // Alternate the clients, rotating the order, so that drift on the machine hits each of them alike.
    for (let k = 0; k < CLIENTS.length; k++) {
      const client = CLIENTS[(i + k) % CLIENTS.length] as (typeof CLIENTS)[number];
      runs.push(await measurePush(client.id, i, archive, work));
    }
  }
  const imageBytes = (id: ClientId) => median(runs.filter((r) => r.client === id).map((r) => r.storedBytes));
  const resume: ResumeRun[] = [];
  for (const client of ['berth', 'skopeo'] as const)
    resume.push(await measureResume(client, archive, imageBytes(client), work));

  const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
  await mkdir(join(ROOT, '.bench'), { recursive: true });
  let profile: ProfileRun | undefined;
  if (settings.profile) {
    profile = await profilePush(
      archive,
      work,
      settings.profile,
      join(ROOT, '.bench', `import-berth-${settings.profile}-${stamp}.cpuprofile`),
    );
  }

  const push = pushTable(runs, archive);
  const repush = repushTable(runs);
  const resumed = resumeTable(resume);
  const random = archive.layers.filter((l) => l.kind === 'random').length;
  const out: string[] = [''];
  out.push(
    `Import of a docker-archive (${archive.layers.length} uncompressed layers of ${mib(settings.layerBytes)}: ${random} random, ${archive.layers.length - random} text-like; ${mib(archive.layerBytes)}) into a fresh CNCF Distribution,`,
  );
  out.push(
    `medians of ${settings.iterations} iteration(s), clients alternating${quick ? ' (BENCH_QUICK: smoke run, not the real targets)' : ''}. MiB/s is uncompressed image bytes over wall time;`,
  );
  out.push(
    `skopeo/this above 1.00 means faster than skopeo; "own s" is the time berth reports itself (without Node.js startup).`,
  );
  out.push('');
  out.push(push.text);
  out.push('');
  out.push(
    'Re-push of the same image into the same repository (all blobs there), after each push above; --debug counts requests:',
  );
  out.push('');
  out.push(repush.text);
  out.push('');
  out.push(
    'Resume: push through a counting proxy, SIGKILL at half the image bytes, same command again (same cache):',
  );
  out.push('');
  out.push(resumed.text);
  if (profile) {
    out.push('');
    out.push(
      `CPU profile of one berth push --compression ${profile.compression}: ${profile.seconds.toFixed(2)} s wall, ${profile.clientCpuSeconds.toFixed(2)} s CPU (all threads; profiled, so slower than above)`,
    );
    out.push(renderProfile(profile.summary));
    out.push(`profile: ${profile.file}`);
  }
  const busy = runs.filter((r) => r.loadAverage > cpus().length).length;
  if (busy > 0) {
    out.push('');
    out.push(
      `warning: ${busy} of ${runs.length} pushes started with a load average above ${cpus().length} (the CPU count): other work was running; compare CPU times and rerun when quiet.`,
    );
  }
  const allMet = push.ratio >= SPEED_TARGET && repush.met && resumed.met;
  out.push('');
  out.push(
    `targets: berth ${push.ratio.toFixed(2)}x skopeo's speed (>= ${SPEED_TARGET}), re-push ${repush.met ? 'under' : 'NOT under'} ${REPUSH_TARGET_SECONDS} s with nothing uploaded, resume ${resumed.met ? 'within' : 'NOT within'} ${RESUME_TARGET}x the image -> ${allMet ? 'ALL TARGETS MET' : 'SOME TARGETS MISSED'}`,
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
    },
    berth: {
      commit: version('git', ['-C', ROOT, 'rev-parse', 'HEAD']),
      srcChanges: spawnSync('git', ['-C', ROOT, 'status', '--porcelain', 'src'], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter(Boolean),
    },
    image: {
      layerBytes: archive.layerBytes,
      archiveBytes: archive.archiveBytes,
      configDigest: archive.configDigest,
      layers: archive.layers,
    },
    targets: {
      speedRatio: push.ratio,
      speedMet: push.ratio >= SPEED_TARGET,
      repushMet: repush.met,
      resumeMet: resumed.met,
    },
    runs,
    resume,
    profile: profile && {
      ...profile,
      summary: { ...profile.summary, byFunction: profile.summary.byFunction.slice(0, 50) },
    },
    allTargetsMet: allMet,
  };
  const file = join(ROOT, '.bench', `import-vs-skopeo-${stamp}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  out.push(`results: ${file} (total ${results.durationSeconds.toFixed(0)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The real images (Debian minbase; Debian + npm + Python): berth gzip, berth zstd and skopeo, alternating. */
async function realCases(work: string): Promise<void> {
  const started = Date.now();
  const cases = await buildRealCases(join(work, 'real'), join(ROOT, '.bench'));
  const runs = await measureRealCases(cases, settings.realIterations, work, BERTH_BIN);
  const out: string[] = [''];
  out.push(
    `Real images from docker-archive into a fresh CNCF Distribution, medians of ${settings.realIterations} iteration(s), clients alternating${quick ? ' (BENCH_QUICK)' : ''};`,
  );
  out.push(
    'client CPU and peak RSS from GNU time (user + system, max RSS); compressed = the layer sizes in the pushed manifest.',
  );
  const targets = [];
  for (const realCase of cases) {
    const table = realCaseTable(realCase, runs);
    targets.push({ case: realCase.name, ...table.targets });
    out.push('');
    out.push(table.text);
  }
  const busy = loadavg()[0] ?? 0;
  if (busy > cpus().length)
    out.push(
      `\nwarning: load average ${busy.toFixed(1)} is above the CPU count: other work was running; rerun when quiet.`,
    );
  const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
  await mkdir(join(ROOT, '.bench'), { recursive: true });
  const file = join(ROOT, '.bench', `import-real-${stamp}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ startedAt: new Date(started).toISOString(), settings, cases, runs, targets }, null, 2)}\n`,
  );
  out.push(`results: ${file} (total ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<void> {
  for (const [tool, args] of [
    ['skopeo', ['--version']],
    ['docker-registry', ['--version']],
  ] as const) {
    if (spawnSync(tool, args, { stdio: 'ignore' }).error)
      throw new Error(`${tool} is not installed (see TESTING.md)`);
  }
  if (!['', 'synthetic', 'real'].includes(settings.only))
    throw new Error(`BENCH_IMPORT_ONLY must be synthetic or real, got ${settings.only}`);
  if (settings.profile && !['auto', 'gzip', 'none'].includes(settings.profile))
    throw new Error(`BENCH_PROFILE must be 1, auto, gzip or none, got ${settings.profile}`);
  await buildBerth();
  const base = process.env.BENCH_TMPDIR ?? tmpdir();
  const work = await mkdtemp(join(base, 'berth-import-bench-'));
  const cleanup = async (): Promise<void> => {
    killTracked();
    if (!settings.keepTemp) await rm(work, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping registries and clients, removing ${work}`);
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (settings.only !== 'real') await syntheticCases(work);
    if (settings.only !== 'synthetic') await realCases(work);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  killTracked();
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
