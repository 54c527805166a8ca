// Shared pieces of the importer end-to-end tests: the berth CLI as a child process with its own caches and
// credentials, the registries under test, images built with umoci/buildah/podman/skopeo, and the checks that
// pull an image back with skopeo and compare digests and layer contents.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type Dirent } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { MediaType } from '../../src/oci/media-types.js';
import {
  type ClientEnv,
  type ImageManifest,
  MANIFEST_ACCEPT,
  run,
  runRaw,
  sha256,
  skopeo,
  writeRootfs,
} from '../support/containers.js';
import { TAR_END, tarHeader } from '../support/source-fixtures.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** The repository root: `--import tsx` resolves tsx from the working folder. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// ---- The CLI under test ----

/** The environment of one berth child: every cache and credential file inside `dir`. */
export interface BerthEnv {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** DOCKER_CONFIG: config.json goes here. */
  dockerConfig: string;
  /** BERTH_CACHE_DIR: blob-info cache, upload state, compression spool. */
  cache: string;
  /** REGISTRY_AUTH_FILE (not created). */
  authFile: string;
}

/**
 * A fresh, isolated environment: BERTH_CACHE_DIR, HOME, DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR,
 * XDG_CONFIG_HOME and XDG_CACHE_HOME all point inside `dir`, so no run sees another's caches or logins.
 * TMPDIR stays shared: tsx keeps its compile cache there, and a fresh one would cost every run a recompile.
 */
export async function berthEnv(dir: string, extra: NodeJS.ProcessEnv = {}): Promise<BerthEnv> {
  const paths = {
    cache: join(dir, 'cache'),
    home: join(dir, 'home'),
    dockerConfig: join(dir, 'docker'),
    runtime: join(dir, 'run'),
    config: join(dir, 'config'),
    xdgCache: join(dir, 'xdg-cache'),
  };
  await Promise.all(Object.values(paths).map((p) => mkdir(p, { recursive: true, mode: 0o700 })));
  const authFile = join(dir, 'auth.json');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('BERTH_')) delete env[key];
  Object.assign(env, {
    BERTH_CACHE_DIR: paths.cache,
    HOME: paths.home,
    DOCKER_CONFIG: paths.dockerConfig,
    REGISTRY_AUTH_FILE: authFile,
    XDG_RUNTIME_DIR: paths.runtime,
    XDG_CONFIG_HOME: paths.config,
    XDG_CACHE_HOME: paths.xdgCache,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    ...extra,
  });
  delete env.DOCKER_HOST;
  return { dir, env, dockerConfig: paths.dockerConfig, cache: paths.cache, authFile };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  args: string[];
}

/** Starts `berth ARGS` (through tsx, as the tests run the sources) without waiting for it. */
export function spawnBerth(
  be: BerthEnv,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): { child: ChildProcess; done: Promise<CliResult>; stderr(): string } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...be.env, ...options.env },
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin?.on('error', () => {});
  child.stdin?.end(options.input ?? '');
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, args }));
  });
  return { child, done, stderr: () => stderr };
}

/** Runs `berth ARGS` to its end (killed after `timeout` ms). */
export async function berth(
  be: BerthEnv,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeout?: number } = {},
): Promise<CliResult> {
  const started = spawnBerth(be, args, options);
  const timer = setTimeout(() => started.child.kill('SIGKILL'), options.timeout ?? 120_000);
  try {
    return await started.done;
  } finally {
    clearTimeout(timer);
  }
}

export function describeRun(r: CliResult): string {
  return `berth ${r.args.join(' ')}\n  exit ${r.code}${r.signal ? ` signal ${r.signal}` : ''}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
}

export function assertOk(r: CliResult): CliResult {
  assert.equal(r.code, 0, `expected success:\n${describeRun(r)}`);
  return r;
}

/**
 * The contract for errors: a non-zero exit, and exactly one line on stderr, starting with `berth: `,
 * matching every pattern (the image and the cause).
 */
export function assertOneLineFailure(r: CliResult, ...patterns: RegExp[]): string {
  assert.ok(r.code !== 0 && r.code !== null, `expected a non-zero exit code:\n${describeRun(r)}`);
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `expected exactly one line on stderr:\n${describeRun(r)}`);
  const line = lines[0] as string;
  assert.match(line, /^berth: /, `the error line should start with "berth: ":\n${describeRun(r)}`);
  for (const pattern of patterns)
    assert.match(line, pattern, `stderr should match ${pattern}:\n${describeRun(r)}`);
  return line;
}

export type BlobAction = 'exists' | 'mounted' | 'uploaded';

export interface PushReport {
  source: string;
  destination: string;
  digest: string;
  mediaType: string;
  platforms: string[];
  uploadedBytes: number;
  blobs: { digest: string; size: number; action: BlobAction }[];
}

/** `berth push --json SRC DEST ARGS…` (or its alias `copy`), asserted to succeed; its JSON report. */
export async function pushJson(
  be: BerthEnv,
  source: string,
  destination: string,
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; command?: 'push' | 'copy' } = {},
): Promise<PushReport> {
  const r = assertOk(
    await berth(be, [options.command ?? 'push', '--json', ...args, source, destination], options),
  );
  let report: PushReport;
  try {
    report = JSON.parse(r.stdout) as PushReport;
  } catch {
    assert.fail(`--json printed something that is not JSON:\n${describeRun(r)}`);
  }
  assert.match(report.digest, /^sha256:[0-9a-f]{64}$/, describeRun(r));
  assert.ok(Array.isArray(report.blobs), describeRun(r));
  const uploaded = report.blobs.filter((b) => b.action === 'uploaded').reduce((s, b) => s + b.size, 0);
  assert.equal(
    report.uploadedBytes,
    uploaded,
    `uploadedBytes is the sum of uploaded blobs:\n${describeRun(r)}`,
  );
  return report;
}

export function actions(report: PushReport): BlobAction[] {
  return [...new Set(report.blobs.map((b) => b.action))].sort();
}

// ---- Registries under test ----

export interface TestRegistry {
  name: string;
  /** `127.0.0.1:PORT` */
  hostPort: string;
  url: string;
  /** For skopeo (`--creds`) and for the plain HTTP checks (Basic auth unless `authorize` says otherwise). */
  credentials?: { username: string; password: string };
  /** Headers that authorize a read of `repo` (a token registry needs a Bearer token per repository). */
  authorize?: (repo: string) => Promise<Record<string, string>>;
}

async function authHeaders(registry: TestRegistry, repo: string): Promise<Record<string, string>> {
  if (registry.authorize) return registry.authorize(repo);
  const c = registry.credentials;
  return c ? { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` } : {};
}

/** GET of a manifest by tag or digest with every manifest type accepted: its status and bytes. */
export async function getManifest(
  registry: TestRegistry,
  repo: string,
  reference: string,
): Promise<{ status: number; bytes: Buffer; digest: string; contentType: string | null }> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, {
    headers: { accept: MANIFEST_ACCEPT, ...(await authHeaders(registry, repo)) },
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, bytes, digest: sha256(bytes), contentType: res.headers.get('content-type') };
}

/** Asserts that `repo:tag` does not exist at the registry (a failed push tagged nothing). */
export async function assertNotTagged(registry: TestRegistry, repo: string, tag: string): Promise<void> {
  const got = await getManifest(registry, repo, tag);
  assert.equal(got.status, 404, `${registry.name} ${repo}:${tag} should not exist, got ${got.status}`);
}

/** GET of a blob: its bytes, checked against the digest. */
export async function getBlob(registry: TestRegistry, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${registry.url}/v2/${repo}/blobs/${digest}`, {
    headers: await authHeaders(registry, repo),
  });
  assert.equal(res.status, 200, `${registry.name} GET blob ${digest} in ${repo}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(sha256(bytes), digest, `${registry.name} blob ${digest} in ${repo} has other bytes`);
  return bytes;
}

// ---- Images ----

export interface ExpectedImage {
  /** The config blob the source holds; pushing must preserve it byte for byte. */
  configDigest: string;
  /** The config's rootfs.diff_ids: what each layer must decompress to. */
  diffIds: string[];
  /** When the source's layers are already compressed, the manifest must arrive unchanged. */
  manifestDigest?: string;
  architecture?: string;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  config?: { Labels?: Record<string, string> | null };
  rootfs: { diff_ids: string[] };
  history?: unknown[];
}

/** Uncompresses a layer if it is gzip; its bytes otherwise. */
export function uncompressed(layer: Buffer): Buffer {
  return layer[0] === 0x1f && layer[1] === 0x8b ? gunzipSync(layer) : layer;
}

function skopeoAuth(registry: TestRegistry, flag = '--creds'): string[] {
  const c = registry.credentials;
  return c ? [`${flag}=${c.username}:${c.password}`] : [];
}

export interface PulledImage {
  manifest: ImageManifest;
  manifestBytes: Buffer;
  config: ImageConfig;
}

/**
 * Pulls `repo:tag` back with skopeo and checks it against what berth reported and what the source held:
 * `skopeo inspect --raw` gives the digest berth printed; `skopeo copy … dir:` (which keeps manifests and
 * blobs byte for byte and verifies every blob's digest while downloading; `oci:` would convert a Docker
 * manifest) yields the same manifest, the source's config, and layers that uncompress to the config's
 * diff_ids.
 */
export async function verifyWithSkopeo(
  client: ClientEnv,
  registry: TestRegistry,
  /** `repo:tag` or `repo@digest` */
  reference: string,
  report: Pick<PushReport, 'digest' | 'blobs'> | undefined,
  expected: ExpectedImage,
  workDir: string,
): Promise<PulledImage> {
  const ref = `docker://${registry.hostPort}/${reference}`;
  const what = `${registry.name} ${reference}`;
  const raw = await runRaw(client, 'skopeo', [
    '--policy',
    client.policy,
    'inspect',
    '--raw',
    '--tls-verify=false',
    ...skopeoAuth(registry),
    ref,
  ]);
  const digest = sha256(raw.stdout);
  if (report) assert.equal(digest, report.digest, `${what}: skopeo sees another manifest`);
  if (expected.manifestDigest) {
    assert.equal(digest, expected.manifestDigest, `${what}: the manifest was rewritten`);
  }
  const inspected = JSON.parse(
    (await skopeo(client, ['inspect', '--tls-verify=false', ...skopeoAuth(registry), ref])).stdout,
  ) as { Digest: string; Architecture: string };
  assert.equal(inspected.Digest, digest);
  if (expected.architecture) assert.equal(inspected.Architecture, expected.architecture);

  const out = join(workDir, `pulled-${registry.name}-${reference.replace(/[^\w.-]/g, '_')}-${nonce()}`);
  await skopeo(client, [
    'copy',
    '--src-tls-verify=false',
    ...skopeoAuth(registry, '--src-creds'),
    ref,
    `dir:${out}`,
  ]);
  const manifestBytes = await readFile(join(out, 'manifest.json'));
  assert.equal(sha256(manifestBytes), digest, 'skopeo copy wrote another manifest than inspect --raw showed');
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  const blobFile = (d: string): string => join(out, d.slice(d.indexOf(':') + 1));

  assert.equal(manifest.config.digest, expected.configDigest, 'the config digest was not preserved');
  const configBytes = await readFile(blobFile(manifest.config.digest));
  assert.equal(sha256(configBytes), expected.configDigest);
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  assert.deepEqual(config.rootfs.diff_ids, expected.diffIds, 'diff_ids of the pushed config');
  assert.equal(manifest.layers.length, expected.diffIds.length, 'one layer per diff_id');
  for (const [i, layer] of manifest.layers.entries()) {
    const bytes = await readFile(blobFile(layer.digest));
    assert.equal(sha256(bytes), layer.digest, `layer ${i} bytes`);
    assert.equal(bytes.length, layer.size, `layer ${i} size`);
    const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
    assert.equal(
      /gzip/.test(layer.mediaType),
      gzip,
      `layer ${i} media type ${layer.mediaType} does not say what its bytes are`,
    );
    assert.equal(
      sha256(uncompressed(bytes)),
      expected.diffIds[i],
      `layer ${i} does not uncompress to its diff_id`,
    );
  }
  if (report) {
    const reported = new Set(report.blobs.map((b) => b.digest));
    for (const d of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
      assert.ok(reported.has(d), `berth's report does not list blob ${d}: ${JSON.stringify(report.blobs)}`);
    }
  }
  return { manifest, manifestBytes, config };
}

/** The config digest and diff_ids of the (single) image of a `docker save`-style archive. */
export async function readDockerArchive(client: ClientEnv, archive: string): Promise<ExpectedImage> {
  const dir = `${archive}.x`;
  await mkdir(dir, { recursive: true });
  await run(client, 'tar', ['-xf', archive, '-C', dir]);
  const list = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { Config: string }[];
  assert.equal(list.length, 1, `${archive} holds one image`);
  const configBytes = await readFile(join(dir, (list[0] as { Config: string }).Config));
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  return {
    configDigest: sha256(configBytes),
    diffIds: config.rootfs.diff_ids,
    architecture: config.architecture,
  };
}

/** What a layout image (umoci, buildah, skopeo) holds, as expectations for a push of it. */
export async function readLayoutExpectation(layout: string, tag: string): Promise<ExpectedImage> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  assert.ok(entry, `no ${tag} in ${layout}`);
  const blob = (d: string): string => join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
  const manifestBytes = await readFile(blob(entry.digest));
  assert.equal(sha256(manifestBytes), entry.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as ImageConfig;
  return {
    configDigest: manifest.config.digest,
    diffIds: config.rootfs.diff_ids,
    manifestDigest: entry.digest,
    architecture: config.architecture,
  };
}

/** Random bytes that differ per run, so no blob cache of another run (skopeo's is shared) matches. */
export function nonce(): string {
  return createHash('sha256')
    .update(`${process.pid} ${Date.now()} ${Math.random()}`)
    .digest('hex')
    .slice(0, 16);
}

/**
 * Builds an image with buildah from scratch (a text file and some random bytes, a label) and writes it as
 * an OCI layout with `buildah push … oci:DIR:TAG`; the image stays in buildah's storage for podman.
 */
export async function buildahImage(
  client: ClientEnv,
  dir: string,
  name: string,
  options: { arch?: string; labels?: Record<string, string> } = {},
): Promise<{ image: string; layout: string; tag: string }> {
  const rootfs = join(dir, `rootfs-${name}`);
  await writeRootfs(rootfs, {
    'etc/built-by': `buildah ${nonce()}\n`,
    'opt/payload.bin': Buffer.from(createHash('sha512').update(nonce()).digest('hex').repeat(2000)),
  });
  const container = `berth-imp-${name}-${nonce()}`;
  await run(client, 'buildah', ['from', '--name', container, 'scratch']);
  await run(client, 'buildah', ['copy', container, rootfs, '/']);
  const labels = Object.entries(options.labels ?? {}).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await run(client, 'buildah', [
    'config',
    '--arch',
    options.arch ?? 'amd64',
    '--os',
    'linux',
    ...labels,
    container,
  ]);
  const image = `localhost/berth-imp/${name}:v1`;
  await run(client, 'buildah', ['commit', '--format', 'oci', container, image]);
  await run(client, 'buildah', ['rm', container]);
  const layout = join(dir, `buildah-layout-${name}`);
  await run(client, 'buildah', ['push', image, `oci:${layout}:v1`]);
  return { image, layout, tag: 'v1' };
}

/** Lists files under a folder recursively with their sizes. */
export async function folderSizes(dir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  const walk = async (d: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const { size } = await stat(p).catch(() => ({ size: 0 }));
        sizes.set(p, size);
      }
    }
  };
  await walk(dir);
  return sizes;
}

export async function writeText(path: string, text: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}

// ---- Big images and a proxy that counts (and may slow down) what clients send ----

export const MiB = 1024 * 1024;

/**
 * A TCP proxy to `target` that counts the bytes clients send through it and, with `bytesPerSecond`, holds
 * them to that rate (to make a push last long enough for something to happen in the middle of it).
 */
export async function countingProxy(
  target: { host: string; port: number },
  options: { bytesPerSecond?: number } = {},
) {
  let sent = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(target.port, target.host);
    sockets.add(client).add(upstream);
    const started = Date.now();
    let passed = 0;
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      passed += chunk.length;
      upstream.write(chunk);
      const rate = options.bytesPerSecond;
      if (!rate) return;
      const ahead = (passed / rate) * 1000 - (Date.now() - started);
      if (ahead > 5) {
        client.pause();
        setTimeout(() => client.resume(), ahead);
      }
    });
    client.on('end', () => upstream.end());
    upstream.pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    hostPort: `127.0.0.1:${port}`,
    /** Bytes received from clients since the last call. */
    take(): number {
      const n = sent;
      sent = 0;
      return n;
    },
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * An OCI layout holding one image whose single layer is an uncompressed tar of `size` random bytes (random
 * data does not compress, so `auto` compression sends the layer as it is, straight from the layout).
 */
export async function bigLayout(dir: string, size: number) {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const temp = join(dir, 'layer.tmp');
  const hash = createHash('sha256');
  const out = createWriteStream(temp);
  const write = (b: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      hash.update(b);
      out.write(b, (e) => (e ? reject(e) : resolve()));
    });
  await write(tarHeader({ name: 'data/random.bin', size }));
  for (let done = 0; done < size; done += 16 * MiB) await write(randomBytes(Math.min(16 * MiB, size - done)));
  await write(Buffer.alloc((512 - (size % 512)) % 512));
  await write(TAR_END);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  const layerDigest = `sha256:${hash.digest('hex')}`;
  const layerSize = (await stat(temp)).size;
  await rename(temp, join(blobs, layerDigest.slice(7)));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
      history: [{ created_by: 'berth resume test' }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layerSize }],
    }),
  );
  await writeFile(join(blobs, sha256(config).slice(7)), config);
  await writeFile(join(blobs, sha256(manifest).slice(7)), manifest);
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MediaType.ociManifest,
          digest: sha256(manifest),
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': 'v1' },
        },
      ],
    }),
  );
  return {
    location: `oci:${dir}:v1`,
    layerSize,
    expected: { configDigest: sha256(config), diffIds: [layerDigest], manifestDigest: sha256(manifest) },
  };
}
