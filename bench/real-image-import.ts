// The import cases users have (issue 11): a real Debian bookworm minbase root as a one-layer `docker save`
// archive, and a three-layer image on it (base, npm packages, Python packages), pushed into a fresh CNCF
// Distribution by `berth push` (gzip, the default), `berth push --compression zstd` and `skopeo copy`,
// alternating. Each command runs under GNU time for its wall time, CPU and peak RSS.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDistribution } from './registry-servers.js';
import { MiB, median, renderColumns } from './report.js';
import { runCommand } from './run-command.js';

const PUSH_TIMEOUT_MS = 15 * 60 * 1000;
const WALL_TARGET = 0.67;
const SIZE_TOLERANCE = 0.05;
const RSS_TARGET = 150 * MiB;
const MIRROR = process.env.BERTH_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
/** Real package trees on a Debian machine with Node.js and Python (nodejs/npm and python3 packages). */
const NPM_TREE = process.env.BENCH_NPM_TREE ?? '/usr/lib/node_modules';
const PYTHON_TREE = process.env.BENCH_PYTHON_TREE ?? '/usr/lib/python3/dist-packages';

export type RealClient = 'berth-gzip' | 'berth-zstd' | 'skopeo';
const CLIENTS: { id: RealClient; label: string; args?: string[] }[] = [
  { id: 'berth-gzip', label: 'berth push (default: gzip)', args: [] },
  { id: 'skopeo', label: 'skopeo copy' },
  { id: 'berth-zstd', label: 'berth push --compression zstd', args: ['--compression', 'zstd'] },
];

export interface RealCase {
  name: string;
  archive: string;
  layers: number;
  /** Bytes of the uncompressed layer tars. */
  layerBytes: number;
}

export interface RealRun {
  case: string;
  client: RealClient;
  iteration: number;
  seconds: number;
  cpuSeconds: number;
  peakRss: number;
  /** Sum of the pushed manifest's layer sizes. */
  compressedBytes: number;
  digest: string;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * A Debian bookworm minbase root: the scan fixtures' one when `BERTH_TEST_SCAN_FIXTURES` has it, otherwise
 * debootstrap's, made once and kept in `cacheDir` (it takes minutes and Debian's mirror).
 */
export async function debianRoot(cacheDir: string): Promise<string> {
  const fixtures = process.env.BERTH_TEST_SCAN_FIXTURES;
  if (fixtures && (await exists(join(fixtures, 'debian-rootfs', 'etc', 'os-release'))))
    return join(fixtures, 'debian-rootfs');
  const root = join(cacheDir, 'debian-bookworm-minbase');
  if (await exists(join(root, 'etc', 'os-release'))) return root;
  if (spawnSync('debootstrap', ['--version'], { stdio: 'ignore' }).error)
    throw new Error('debootstrap is not installed (apt-get install debootstrap)');
  await mkdir(cacheDir, { recursive: true });
  const temp = await mkdtemp(join(cacheDir, '.debootstrap-'));
  log(`debootstrap --variant=minbase bookworm (once, cached in ${root})`);
  try {
    await runCommand('debootstrap', ['--variant=minbase', 'bookworm', join(temp, 'root'), MIRROR], {
      timeoutMs: 30 * 60 * 1000,
    });
    await rm(join(temp, 'root', 'var', 'cache', 'apt', 'archives'), { recursive: true, force: true });
    await rename(join(temp, 'root'), root);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return root;
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A `docker save` archive (uncompressed layer tars, as docker and podman write them) of the given layers, each
 * a GNU tar of one folder's content under a path, sorted and with numeric owners as image builders make them.
 */
async function dockerArchive(
  dir: string,
  name: string,
  layers: { from: string; under: string }[],
): Promise<RealCase> {
  const staging = join(dir, `${name}.d`);
  await mkdir(staging, { recursive: true });
  const entries: string[] = [];
  const diffIds: string[] = [];
  let layerBytes = 0;
  for (const [i, layer] of layers.entries()) {
    const tar = join(staging, `layer-${i}.tar`);
    const transform = layer.under ? [`--transform=s,^\\.,${layer.under},`] : [];
    await runCommand(
      'tar',
      ['--sort=name', '--numeric-owner', '--xattrs', ...transform, '-C', layer.from, '-cf', tar, '.'],
      { timeoutMs: 10 * 60 * 1000 },
    );
    const hex = await fileSha256(tar);
    await mkdir(join(staging, hex), { recursive: true });
    await rename(tar, join(staging, hex, 'layer.tar'));
    entries.push(`${hex}/layer.tar`);
    diffIds.push(`sha256:${hex}`);
    layerBytes += (await stat(join(staging, hex, 'layer.tar'))).size;
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  await writeFile(join(staging, configName), config);
  await writeFile(
    join(staging, 'manifest.json'),
    JSON.stringify([{ Config: configName, RepoTags: [`bench/${name}:v1`], Layers: entries }]),
  );
  const archive = join(dir, `${name}.tar`);
  await runCommand('tar', ['-C', staging, '-cf', archive, 'manifest.json', configName, ...entries], {
    timeoutMs: 10 * 60 * 1000,
  });
  await rm(staging, { recursive: true, force: true });
  return { name, archive, layers: layers.length, layerBytes };
}

/** The two real cases: Debian minbase alone, and Debian + npm packages + Python packages. */
export async function buildRealCases(work: string, cacheDir: string): Promise<RealCase[]> {
  const root = await debianRoot(cacheDir);
  const cases = [await dockerArchive(work, 'debian-minbase', [{ from: root, under: '' }])];
  const trees = [NPM_TREE, PYTHON_TREE];
  const missing = [];
  for (const tree of trees) if (!(await exists(tree))) missing.push(tree);
  if (missing.length > 0) {
    log(`skipping the three-layer case: no ${missing.join(' or ')} (set BENCH_NPM_TREE / BENCH_PYTHON_TREE)`);
    return cases;
  }
  cases.push(
    await dockerArchive(work, 'debian-npm-python', [
      { from: root, under: '' },
      { from: NPM_TREE, under: './usr/local/lib/node_modules' },
      { from: PYTHON_TREE, under: './usr/local/lib/python3.11/dist-packages' },
    ]),
  );
  return cases;
}

/** `/usr/bin/time -f`: wall, user, system, max RSS (KiB) of the command, written to a file. */
async function timed(
  command: string[],
  env: NodeJS.ProcessEnv,
  timeFile: string,
): Promise<{ stdout: string; seconds: number; cpuSeconds: number; peakRss: number }> {
  const result = await runCommand('/usr/bin/time', ['-f', '%e %U %S %M', '-o', timeFile, ...command], {
    env,
    timeoutMs: PUSH_TIMEOUT_MS,
  });
  const [wall, user, system, rss] =
    (await readFile(timeFile, 'utf8')).trim().split('\n').at(-1)?.split(' ') ?? [];
  return {
    stdout: result.stdout,
    seconds: Number(wall),
    cpuSeconds: Number(user) + Number(system),
    peakRss: Number(rss) * 1024,
  };
}

async function manifestOf(url: string, repo: string): Promise<{ digest: string; compressed: number }> {
  const response = await fetch(`${url}/v2/${repo}/manifests/v1`, {
    headers: {
      Accept:
        'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 200) throw new Error(`registry answered ${response.status} for ${repo}:v1`);
  const bytes = Buffer.from(await response.arrayBuffer());
  const manifest = JSON.parse(bytes.toString('utf8')) as { layers: { size: number }[] };
  return {
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    compressed: manifest.layers.reduce((sum, l) => sum + l.size, 0),
  };
}

async function measure(
  client: (typeof CLIENTS)[number],
  realCase: RealCase,
  iteration: number,
  work: string,
  berthBin: string,
): Promise<RealRun> {
  const dir = join(work, `real-${realCase.name}-${iteration}-${client.id}`);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const server = await startDistribution(join(dir, 'registry'));
  const repo = `bench/${realCase.name}`;
  const dest = `docker://${server.hostPort}/${repo}:v1`;
  try {
    spawnSync('sync', { stdio: 'ignore' });
    const run =
      client.id === 'skopeo'
        ? await timed(
            [
              'skopeo',
              '--insecure-policy',
              'copy',
              '-q',
              '--dest-tls-verify=false',
              '--dest-no-creds',
              `docker-archive:${realCase.archive}`,
              dest,
            ],
            {
              ...process.env,
              XDG_DATA_HOME: dir,
              TMPDIR: join(dir, 'tmp'),
              // As root skopeo shares /var/lib/containers/cache; "rootless" moves its blob-info cache here.
              ...(process.getuid?.() === 0 ? { _CONTAINERS_ROOTLESS_UID: '1000' } : {}),
            },
            join(dir, 'time'),
          )
        : await timed(
            [
              process.execPath,
              berthBin,
              'push',
              '--json',
              ...(client.args ?? []),
              `docker-archive:${realCase.archive}`,
              dest,
            ],
            {
              ...process.env,
              BERTH_CACHE_DIR: join(dir, 'cache'),
              DOCKER_CONFIG: join(dir, 'docker-config'),
              REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
            },
            join(dir, 'time'),
          );
    const pushed = await manifestOf(server.url, repo);
    if (client.id !== 'skopeo') {
      const printed = (JSON.parse(run.stdout) as { digest: string }).digest;
      if (printed !== pushed.digest)
        throw new Error(`${client.id}: printed ${printed}, registry has ${pushed.digest}`);
    }
    const result: RealRun = {
      case: realCase.name,
      client: client.id,
      iteration,
      seconds: run.seconds,
      cpuSeconds: run.cpuSeconds,
      peakRss: run.peakRss,
      compressedBytes: pushed.compressed,
      digest: pushed.digest,
    };
    log(
      `[${realCase.name} ${iteration + 1}] ${client.id.padEnd(10)} ${run.seconds.toFixed(2).padStart(6)} s  CPU ${run.cpuSeconds.toFixed(2)} s  RSS ${mib(run.peakRss)}  compressed ${mib(pushed.compressed)}`,
    );
    return result;
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every case, every client, `iterations` times, the clients alternating in a rotating order. */
export async function measureRealCases(
  cases: RealCase[],
  iterations: number,
  work: string,
  berthBin: string,
): Promise<RealRun[]> {
  const runs: RealRun[] = [];
  for (const realCase of cases) {
    for (let i = 0; i < iterations; i++) {
      for (let k = 0; k < CLIENTS.length; k++) {
        const client = CLIENTS[(i + k) % CLIENTS.length] as (typeof CLIENTS)[number];
        runs.push(await measure(client, realCase, i, work, berthBin));
      }
    }
  }
  return runs;
}

export interface RealTargets {
  wallMet: boolean;
  sizeMet: boolean;
  rssMet: boolean;
}

/** The table of one case: medians per client, ratios to skopeo, and the targets for the default push. */
export function realCaseTable(realCase: RealCase, runs: RealRun[]): { text: string; targets: RealTargets } {
  const of = (id: RealClient) => runs.filter((r) => r.case === realCase.name && r.client === id);
  const skopeo = of('skopeo');
  const skopeoWall = median(skopeo.map((r) => r.seconds));
  const skopeoSize = median(skopeo.map((r) => r.compressedBytes));
  const targets: RealTargets = { wallMet: false, sizeMet: false, rssMet: true };
  const rows = CLIENTS.map(({ id, label }) => {
    const mine = of(id);
    const wall = median(mine.map((r) => r.seconds));
    const size = median(mine.map((r) => r.compressedBytes));
    const rss = Math.max(...mine.map((r) => r.peakRss));
    const verdicts: string[] = [];
    if (id !== 'skopeo') {
      const rssMet = rss < RSS_TARGET;
      targets.rssMet &&= rssMet;
      verdicts.push(`RSS ${rssMet ? 'MET' : 'MISSED'}`);
    }
    if (id === 'berth-gzip') {
      targets.wallMet = wall / skopeoWall <= WALL_TARGET;
      targets.sizeMet = size / skopeoSize <= 1 + SIZE_TOLERANCE;
      verdicts.unshift(
        `wall ${targets.wallMet ? 'MET' : 'MISSED'} (<= ${WALL_TARGET}x)`,
        `size ${targets.sizeMet ? 'MET' : 'MISSED'} (<= ${1 + SIZE_TOLERANCE}x)`,
      );
    }
    return [
      label,
      wall.toFixed(2),
      id === 'skopeo' ? '1.00x' : `${(wall / skopeoWall).toFixed(2)}x`,
      median(mine.map((r) => r.cpuSeconds)).toFixed(2),
      mib(size),
      id === 'skopeo' ? '1.00x' : `${(size / skopeoSize).toFixed(3)}x`,
      mib(rss),
      verdicts.join(', '),
    ];
  });
  const header = [
    'client',
    'wall s',
    'wall/skopeo',
    'client CPU s',
    'compressed',
    'size/skopeo',
    'peak RSS',
    'targets',
  ];
  const title = `${realCase.name}: ${realCase.layers} layer${realCase.layers === 1 ? '' : 's'}, ${mib(realCase.layerBytes)} of uncompressed tars`;
  return { text: `${title}\n${renderColumns(header, rows, [0, 7])}`, targets };
}
