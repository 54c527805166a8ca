// berth key generate / sign / verify against a real Berth on loopback, checked both ways against a second,
// independent implementation of cosign's formats in Python (test/support/cosign_format.py).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RunningServer } from '../../src/main/server.js';
import { blobOf, makeImage } from '../support/images.js';
import { TestClient } from '../support/oci-client.js';
import { startTestServer } from '../support/registry-server.js';
import { fileScope, tempDir } from '../support/temp.js';
import { requireCondition } from '../support/tool-gate.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PYTHON_FORMAT = fileURLToPath(new URL('../support/cosign_format.py', import.meta.url));
// Debian's interpreter, where python3-cryptography and python3-nacl are installed (not a pyenv's first on PATH).
const PYTHON = '/usr/bin/python3';
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SIGNATURE_KEY = 'dev.cosignproject.cosign/signature';

function pythonMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import nacl.secret, cryptography.hazmat.primitives.asymmetric.ec'], {
      stdio: 'ignore',
    });
    return undefined;
  } catch {
    return `${PYTHON} with python3-cryptography and python3-nacl not installed (apt-get install -y python3-cryptography python3-nacl)`;
  }
}

const gate = requireCondition(pythonMissing());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cosign-compatible signing, checked by an independent implementation', { skip: gate.skip }, () => {
  let server: RunningServer;
  let client: TestClient;
  let dir: string;
  let imageDigest: string;
  let otherDigest: string;
  const repo = 'team/app';

  const berth = (args: string[], password = 'correct horse'): Promise<Run> =>
    run(process.execPath, ['--import', 'tsx', CLI, ...args], {
      BERTH_KEY_PASSWORD: password,
      BERTH_CACHE_DIR: join(dir, 'cache'),
    });
  const python = (args: string[], password = 'correct horse'): Promise<Run> =>
    run(PYTHON, [PYTHON_FORMAT, ...args], { BERTH_KEY_PASSWORD: password });
  const image = (): string => `${server.hostPort}/${repo}@${imageDigest}`;
  const sigTag = (digest: string): string => `${digest.replace(':', '-')}.sig`;

  async function verifyBoth(pub: string, digest: string, claims: string[] = []) {
    const ours = await berth([
      'verify',
      '--json',
      '--key',
      pub,
      ...claims.flatMap((c) => ['-a', c]),
      `${server.hostPort}/${repo}@${digest}`,
    ]);
    const theirs = await python(['verify', pub, server.url, repo, digest, ...claims]);
    const ourVerdicts = (
      JSON.parse(ours.stdout) as { signatures: { verified: boolean; reason?: string }[] }
    ).signatures.map((s) => (s.verified ? 'verified' : s.reason));
    const theirVerdicts = (JSON.parse(theirs.stdout) as { signatures: string[] }).signatures;
    return { ours, theirs, ourVerdicts, theirVerdicts };
  }

  async function signatureManifest(
    digest: string,
  ): Promise<{ config: unknown; layers: Record<string, unknown>[] }> {
    const res = await client.request('GET', `/v2/${repo}/manifests/${sigTag(digest)}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { config: unknown; layers: Record<string, unknown>[] };
  }

  /** Stores a signature manifest of exactly these layers at the image's signature tag. */
  async function storeSignatureManifest(digest: string, layers: Record<string, unknown>[]): Promise<void> {
    const config = blobOf(
      JSON.stringify({ rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }),
    );
    assert.equal((await client.pushBlob(repo, config)).status, 201);
    const manifest = blobOf(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: config.digest,
          size: config.bytes.length,
        },
        layers,
      }),
    );
    const res = await client.pushManifest(
      repo,
      sigTag(digest),
      manifest,
      'application/vnd.oci.image.manifest.v1+json',
    );
    assert.equal(res.status, 201, await res.text());
  }

  before(async () => {
    gate.assertAvailable();
    dir = await tempDir(fileScope());
    server = await startTestServer({ data: join(dir, 'data') });
    client = new TestClient(server.url);
    const first = makeImage();
    const second = makeImage();
    await client.pushImage(repo, 'v1', first);
    await client.pushImage(repo, 'v2', second);
    imageDigest = first.manifest.digest;
    otherDigest = second.manifest.digest;
  });
  after(async () => {
    await server?.close();
  });

  test('berth key generate writes a sigstore key the Python side decrypts and signs with; berth verify accepts it', async () => {
    const made = await berth(['key', 'generate', '--output-key-prefix', join(dir, 'berth')]);
    assert.equal(made.code, 0, made.stderr);
    const privatePem = await readFile(join(dir, 'berth.key'), 'utf8');
    assert.match(privatePem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    assert.equal((await stat(join(dir, 'berth.key'))).mode & 0o777, 0o600);
    assert.match(await readFile(join(dir, 'berth.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
    const again = await berth(['key', 'generate', '--output-key-prefix', join(dir, 'berth')]);
    assert.equal(again.code, 1, 'an existing key is not overwritten');
    assert.equal(await readFile(join(dir, 'berth.key'), 'utf8'), privatePem);

    const signed = await python(['sign', join(dir, 'berth.key'), server.url, repo, imageDigest, 'by=python']);
    assert.equal(signed.code, 0, signed.stderr);
    const verified = await berth(['verify', '--key', join(dir, 'berth.pub'), '-a', 'by=python', image()]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /1 verified/);
    // By tag as well as by digest.
    const byTag = await berth(['verify', '--key', join(dir, 'berth.pub'), `${server.hostPort}/${repo}:v1`]);
    assert.equal(byTag.code, 0, byTag.stderr);

    const wrong = await python(['sign', join(dir, 'berth.key'), server.url, repo, imageDigest], 'not it');
    assert.equal(wrong.code, 3, 'a wrong passphrase does not open the key on the Python side either');
  });

  test('berth sign appends a signature the Python side verifies, claims included', async () => {
    const signed = await berth([
      'sign',
      '--key',
      join(dir, 'berth.key'),
      '-a',
      'release=v1.0',
      '-a',
      'team=core',
      image(),
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, /2 signature\(s\)/);
    const manifest = await signatureManifest(imageDigest);
    assert.equal(manifest.layers.length, 2, 'appended to the signature already there');
    assert.equal(manifest.layers[1]?.mediaType, SIMPLE_SIGNING);

    const both = await verifyBoth(join(dir, 'berth.pub'), imageDigest, ['release=v1.0']);
    assert.deepEqual(both.theirVerdicts, ['annotation-mismatch', 'verified']);
    assert.deepEqual(both.ourVerdicts, both.theirVerdicts);
    assert.equal(both.ours.code, 0);
    const none = await verifyBoth(join(dir, 'berth.pub'), imageDigest, ['release=v2.0']);
    assert.deepEqual(none.ourVerdicts, ['annotation-mismatch', 'annotation-mismatch']);
    assert.deepEqual(none.theirVerdicts, none.ourVerdicts);
    assert.equal(none.ours.code, 1, 'no signature carries the claim');
    assert.equal(none.theirs.code, 1);
  });

  test('a key the Python side generated signs with berth (and the older COSIGN header is read)', async () => {
    const made = await python(['generate', join(dir, 'python')]);
    assert.equal(made.code, 0, made.stderr);
    const pem = await readFile(join(dir, 'python.key'), 'utf8');
    await writeFile(join(dir, 'python-old.key'), pem.replaceAll('SIGSTORE', 'COSIGN'));
    for (const key of ['python.key', 'python-old.key']) {
      const signed = await berth(['sign', '--key', join(dir, key), `${server.hostPort}/${repo}:v2`]);
      assert.equal(signed.code, 0, signed.stderr);
    }
    const both = await verifyBoth(join(dir, 'python.pub'), otherDigest);
    assert.deepEqual(both.theirVerdicts, ['verified', 'verified']);
    assert.deepEqual(both.ourVerdicts, both.theirVerdicts);
  });

  test('a wrong passphrase fails before anything is stored', async () => {
    const before = await signatureManifest(imageDigest);
    const signed = await berth(['sign', '--key', join(dir, 'berth.key'), image()], 'wrong');
    assert.equal(signed.code, 1);
    assert.match(signed.stderr, /^berth: .*berth\.key: .*passphrase/);
    assert.deepEqual(await signatureManifest(imageDigest), before);
  });

  test('another key verifies nothing, and verify exits 1', async () => {
    const both = await verifyBoth(join(dir, 'python.pub'), imageDigest);
    assert.deepEqual(both.ourVerdicts, ['signature-mismatch', 'signature-mismatch']);
    assert.deepEqual(both.theirVerdicts, both.ourVerdicts);
    assert.equal(both.ours.code, 1);
    assert.match(both.ours.stderr, /^berth: .*no signature verified/);
    const unsigned = makeImage();
    await client.pushImage(repo, 'unsigned', unsigned);
    const none = await berth([
      'verify',
      '--key',
      join(dir, 'berth.pub'),
      `${server.hostPort}/${repo}:unsigned`,
    ]);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /0 signature\(s\)/);
  });

  test('tampering: a changed payload, a signature moved to another digest, extra and broken layers', async () => {
    const good = (await signatureManifest(imageDigest)).layers[1] as Record<string, unknown> & {
      digest: string;
      annotations: Record<string, string>;
    };
    const payload = await client.blobBytes(repo, good.digest);
    // The payload's claim changed, the signature kept.
    const changed = blobOf(payload.toString('utf8').replace('v1.0', 'v9.9'));
    assert.equal((await client.pushBlob(repo, changed)).status, 201);
    // A valid signature of the other image, replayed under this image's tag.
    const replayed = (await signatureManifest(otherDigest)).layers[0] as Record<string, unknown>;
    const otherBerthSigned = await berth([
      'sign',
      '--key',
      join(dir, 'berth.key'),
      `${server.hostPort}/${repo}:v2`,
    ]);
    assert.equal(otherBerthSigned.code, 0, otherBerthSigned.stderr);
    const replayedBerth = (await signatureManifest(otherDigest)).layers[2] as Record<string, unknown>;
    const notJson = blobOf('{"not": "a cosign payload"}');
    assert.equal((await client.pushBlob(repo, notJson)).status, 201);
    await storeSignatureManifest(imageDigest, [
      good,
      { ...good, digest: changed.digest, size: changed.bytes.length },
      replayed,
      replayedBerth,
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: good.digest,
        size: good.size,
        annotations: good.annotations,
      },
      { mediaType: SIMPLE_SIGNING, digest: good.digest, size: good.size },
      {
        mediaType: SIMPLE_SIGNING,
        digest: good.digest,
        size: good.size,
        annotations: { [SIGNATURE_KEY]: 'not base64!' },
      },
      {
        mediaType: SIMPLE_SIGNING,
        digest: notJson.digest,
        size: notJson.bytes.length,
        annotations: good.annotations,
      },
    ]);
    const both = await verifyBoth(join(dir, 'berth.pub'), imageDigest);
    assert.deepEqual(both.ourVerdicts, [
      'verified',
      'signature-mismatch',
      'signature-mismatch',
      'digest-mismatch',
      'not-simple-signing',
      'no-signature',
      'no-signature',
      'signature-mismatch',
    ]);
    assert.deepEqual(both.theirVerdicts, both.ourVerdicts);
    assert.equal(both.ours.code, 0, 'one good signature among broken ones verifies the image');

    // Without the good one, the extra and broken layers verify nothing.
    await storeSignatureManifest(imageDigest, [
      replayedBerth,
      { ...good, digest: changed.digest, size: changed.bytes.length },
    ]);
    const none = await verifyBoth(join(dir, 'berth.pub'), imageDigest);
    assert.deepEqual(none.ourVerdicts, ['digest-mismatch', 'signature-mismatch']);
    assert.deepEqual(none.theirVerdicts, none.ourVerdicts);
    assert.equal(none.ours.code, 1);
    assert.equal(none.theirs.code, 1);
  });

  test('a signature tag that holds no image manifest is an error, not a verdict', async () => {
    const index = blobOf(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [],
      }),
    );
    const lone = makeImage();
    await client.pushImage(repo, 'lone', lone);
    const res = await client.pushManifest(
      repo,
      sigTag(lone.manifest.digest),
      index,
      'application/vnd.oci.image.index.v1+json',
    );
    assert.equal(res.status, 201, await res.text());
    const verified = await berth([
      'verify',
      '--key',
      join(dir, 'berth.pub'),
      `${server.hostPort}/${repo}:lone`,
    ]);
    assert.equal(verified.code, 2, 'could not check, which is not a refusal');
    assert.match(verified.stderr, /^berth: .*signature tag/);
    const noKey = await berth(['verify', '--key', join(dir, 'missing.pub'), image()]);
    assert.equal(noKey.code, 2);
    const signed = await berth(['sign', '--key', join(dir, 'berth.key'), `${server.hostPort}/${repo}:lone`]);
    assert.equal(signed.code, 1, 'sign does not overwrite what it cannot read');
  });
});
