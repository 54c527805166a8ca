import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MediaType } from '../../src/oci/media-types.js';

const execFileAsync = promisify(execFile);

// The skip-or-fail rule lives in tool-gate.ts; suites have long imported it from here.
export { interopRequired, requireTools, type ToolGate } from './tool-gate.js';

export interface ClientEnv {
  /** The test's own folder holding every client's config and storage. */
  dir: string;
  /** `HOST:PORT` of the Berth under test. */
  registry: string;
  env: NodeJS.ProcessEnv;
  /** A trust policy that accepts anything, for skopeo's `--policy`. */
  policy: string;
}

/**
 * Isolated configuration for skopeo, podman and buildah: vfs storage, the registry as insecure,
 * an empty auth file and HOME/TMPDIR inside `dir`. Nothing in /etc is changed. As root the clients still
 * share the blob-info cache in /var/lib/containers/cache (no setting moves it); tests use random layers so
 * entries from other runs never match.
 */
export async function makeClientEnv(dir: string, registry: string): Promise<ClientEnv> {
  const conf = join(dir, 'conf');
  const home = join(dir, 'home');
  const tmp = join(dir, 'tmp');
  await Promise.all([conf, home, tmp].map((d) => mkdir(d, { recursive: true })));
  const storageConf = join(conf, 'storage.conf');
  const registriesConf = join(conf, 'registries.conf');
  const containersConf = join(conf, 'containers.conf');
  const authFile = join(conf, 'auth.json');
  const policy = join(conf, 'policy.json');
  await writeFile(
    storageConf,
    `[storage]\ndriver = "vfs"\nrunroot = "${join(dir, 'run')}"\ngraphroot = "${join(dir, 'storage')}"\n`,
  );
  await writeFile(
    registriesConf,
    `unqualified-search-registries = []\n\n[[registry]]\nlocation = "${registry}"\ninsecure = true\n`,
  );
  // podman logs events to journald by default, which this machine does not have.
  await writeFile(
    containersConf,
    `[engine]\nevents_logger = "file"\nevents_logfile_path = "${join(dir, 'events.log')}"\n` +
      `tmp_dir = "${join(dir, 'libpod-tmp')}"\ncgroup_manager = "cgroupfs"\n`,
  );
  // podman refuses a REGISTRY_AUTH_FILE that does not exist.
  await writeFile(authFile, '{"auths":{}}\n');
  await writeFile(policy, '{"default":[{"type":"insecureAcceptAnything"}]}\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    TMPDIR: tmp,
    CONTAINERS_STORAGE_CONF: storageConf,
    CONTAINERS_REGISTRIES_CONF: registriesConf,
    CONTAINERS_CONF: containersConf,
    REGISTRY_AUTH_FILE: authFile,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };
  delete env.DOCKER_CONFIG;
  return { dir, registry, env, policy };
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

function describeCommand(cmd: string, args: string[]): string {
  return [cmd, ...args].join(' ');
}

async function exec(
  client: ClientEnv,
  cmd: string,
  args: string[],
  timeout: number,
): Promise<{ stdout: Buffer; stderr: Buffer }> {
  return execFileAsync(cmd, args, {
    env: client.env,
    cwd: client.dir,
    timeout,
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'buffer',
  });
}

/** Runs a client and asserts it exits 0; the error message carries the command line and its stderr. */
export async function runRaw(
  client: ClientEnv,
  cmd: string,
  args: string[],
  options: { timeout?: number } = {},
): Promise<{ stdout: Buffer; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(client, cmd, args, options.timeout ?? 120_000);
    return { stdout, stderr: stderr.toString('utf8') };
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer; code?: unknown; signal?: unknown };
    throw new assert.AssertionError({
      message:
        `command failed (exit ${String(e.code)}${e.signal ? `, signal ${String(e.signal)}` : ''}): ` +
        `${describeCommand(cmd, args)}\n--- stderr ---\n${e.stderr?.toString('utf8') ?? ''}` +
        `\n--- stdout ---\n${e.stdout?.toString('utf8') ?? ''}`,
    });
  }
}

/** `runRaw` with stdout as text. */
export async function run(
  client: ClientEnv,
  cmd: string,
  args: string[],
  options: { timeout?: number } = {},
): Promise<RunResult> {
  const { stdout, stderr } = await runRaw(client, cmd, args, options);
  return { stdout: stdout.toString('utf8'), stderr };
}

/** Runs a client that is expected to fail; asserts a non-zero exit and returns its output. */
export async function runFailing(
  client: ClientEnv,
  cmd: string,
  args: string[],
  options: { timeout?: number } = {},
): Promise<RunResult & { code: number }> {
  let result: { stdout: Buffer; stderr: Buffer };
  try {
    result = await exec(client, cmd, args, options.timeout ?? 120_000);
  } catch (error) {
    const e = error as { stdout?: Buffer; stderr?: Buffer; code?: unknown; killed?: boolean };
    assert.ok(
      typeof e.code === 'number' && !e.killed,
      `command did not run to an exit code: ${String(error)}`,
    );
    return {
      stdout: e.stdout?.toString('utf8') ?? '',
      stderr: e.stderr?.toString('utf8') ?? '',
      code: e.code,
    };
  }
  assert.fail(
    `expected a failure but it exited 0: ${describeCommand(cmd, args)}\n--- stderr ---\n` +
      `${result.stderr.toString('utf8')}\n--- stdout ---\n${result.stdout.toString('utf8')}`,
  );
}

/** skopeo with the test's own trust policy in front of the arguments. */
export function skopeo(
  client: ClientEnv,
  args: string[],
  options: { timeout?: number } = {},
): Promise<RunResult> {
  return run(client, 'skopeo', ['--policy', client.policy, ...args], options);
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** `skopeo inspect --raw` of `repo:tag` or `repo@digest` on the registry: the exact bytes and their digest. */
export async function inspectRaw(
  client: ClientEnv,
  reference: string,
): Promise<{ bytes: Buffer; digest: string }> {
  const { stdout } = await runRaw(client, 'skopeo', [
    '--policy',
    client.policy,
    'inspect',
    '--tls-verify=false',
    '--raw',
    `docker://${client.registry}/${reference}`,
  ]);
  return { bytes: stdout, digest: sha256(stdout) };
}

/** Reads the digest skopeo, podman or buildah wrote with `--digestfile`. */
export async function readDigestFile(path: string): Promise<string> {
  const digest = (await readFile(path, 'utf8')).trim();
  assert.match(digest, /^sha256:[0-9a-f]{64}$/, `digest file ${path} holds ${JSON.stringify(digest)}`);
  return digest;
}

// ---- OCI image layouts ----

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export function blobPath(layout: string, digest: string): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return join(layout, 'blobs', algorithm, hex);
}

export async function readLayoutIndex(layout: string): Promise<ImageIndex> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as ImageIndex;
}

/** The descriptor a layout's index.json gives a ref name, and the bytes it points at (hash checked). */
export async function readLayoutRef(
  layout: string,
  ref: string,
): Promise<{ descriptor: Descriptor; bytes: Buffer; digest: string }> {
  const index = await readLayoutIndex(layout);
  const descriptor = index.manifests.find(
    (m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref,
  );
  assert.ok(descriptor, `no ref ${ref} in ${layout}/index.json: ${JSON.stringify(index)}`);
  const bytes = await readFile(blobPath(layout, descriptor.digest));
  assert.equal(
    sha256(bytes),
    descriptor.digest,
    `blob ${descriptor.digest} in ${layout} does not match its digest`,
  );
  assert.equal(bytes.length, descriptor.size);
  return { descriptor, bytes, digest: descriptor.digest };
}

/** Writes `files` (relative path → content) under `dir`, creating folders as needed. */
export async function writeRootfs(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, content);
  }
}

/** Builds one image in an OCI layout with umoci: a layer made of `rootfs`, the given platform and labels. */
export async function umociImage(
  client: ClientEnv,
  layout: string,
  tag: string,
  options: { rootfs: string; arch: string; os?: string; labels?: Record<string, string> },
): Promise<void> {
  try {
    await access(join(layout, 'index.json'));
  } catch {
    await run(client, 'umoci', ['init', '--layout', layout]);
  }
  const image = `${layout}:${tag}`;
  await run(client, 'umoci', ['new', '--image', image]);
  await run(client, 'umoci', ['insert', '--image', image, options.rootfs, '/']);
  const labels = Object.entries(options.labels ?? {}).flatMap(([k, v]) => ['--config.label', `${k}=${v}`]);
  await run(client, 'umoci', [
    'config',
    '--image',
    image,
    '--architecture',
    options.arch,
    '--os',
    options.os ?? 'linux',
    ...labels,
  ]);
}

/** Adds an OCI image index over existing manifests of a layout and names it `ref` in index.json. */
export async function addLayoutIndex(
  layout: string,
  ref: string,
  children: {
    digest: string;
    size: number;
    mediaType: string;
    platform: { architecture: string; os: string };
  }[],
): Promise<{ bytes: Buffer; digest: string }> {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: children.map((c) => ({
        mediaType: c.mediaType,
        digest: c.digest,
        size: c.size,
        platform: c.platform,
      })),
    }),
  );
  const digest = sha256(bytes);
  await writeFile(blobPath(layout, digest), bytes);
  const index = await readLayoutIndex(layout);
  index.manifests.push({
    mediaType: MediaType.ociIndex,
    digest,
    size: bytes.length,
    annotations: { 'org.opencontainers.image.ref.name': ref },
  });
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
  return { bytes, digest };
}

// ---- Plain HTTP checks against the registry ----

export const MANIFEST_ACCEPT = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
].join(', ');

export interface FetchedManifest {
  status: number;
  contentType: string | null;
  dockerContentDigest: string | null;
  bytes: Buffer;
  digest: string;
}

/** GETs a manifest from Berth with every manifest type accepted. */
export async function fetchManifest(
  baseUrl: string,
  repo: string,
  reference: string,
): Promise<FetchedManifest> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${reference}`, {
    headers: { Accept: MANIFEST_ACCEPT },
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    dockerContentDigest: res.headers.get('docker-content-digest'),
    bytes,
    digest: sha256(bytes),
  };
}

/** HEAD status of a blob or manifest path under `/v2/`. */
export async function headStatus(baseUrl: string, path: string): Promise<number> {
  const res = await fetch(`${baseUrl}/v2/${path}`, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT } });
  return res.status;
}
