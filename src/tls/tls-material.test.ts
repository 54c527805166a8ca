import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, get, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { requireTools } from '../../test/support/containers.js';
import { tempDir } from '../../test/support/temp.js';
import { BerthError } from '../oci/errors.js';
import { ensureSelfSignedTls } from './self-signed.js';
import { loadTlsFiles, type TlsMaterial } from './tls-material.js';

const execFileAsync = promisify(execFile);
const DAY_MS = 24 * 60 * 60 * 1000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

async function refused(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof BerthError, `expected a BerthError, got ${String(error)}`);
    assert.equal(error.code, 'TLS_CONFIG_INVALID');
    return error.message;
  }
  assert.fail('expected a refusal');
}

function certificates(material: TlsMaterial): { server: X509Certificate; ca: X509Certificate } {
  assert.ok(material.ca, 'self-signed material carries its CA');
  return { server: new X509Certificate(material.cert), ca: new X509Certificate(material.ca) };
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

test('self-signed: a CA and a server certificate signed by it for the loopback names, with the right extensions and files', async (t) => {
  const data = await tempDir(t);
  const before = Date.now();
  const material = await ensureSelfSignedTls(data, ['127.0.0.1']);
  const { server, ca } = certificates(material);

  const dir = join(data, 'tls');
  assert.equal(material.certPath, join(dir, 'server.pem'));
  assert.equal(material.keyPath, join(dir, 'server-key.pem'));
  assert.equal(material.caPath, join(dir, 'ca.pem'));
  assert.equal(await readFile(join(dir, 'server.pem'), 'utf8'), material.cert);
  assert.equal(await readFile(join(dir, 'server-key.pem'), 'utf8'), material.key);
  assert.equal(await readFile(join(dir, 'ca.pem'), 'utf8'), material.ca);
  assert.equal(await mode(dir), 0o700);
  assert.equal(await mode(join(dir, 'ca-key.pem')), 0o600);
  assert.equal(await mode(join(dir, 'server-key.pem')), 0o600);
  // Nothing left behind by the atomic writes or the lock.
  assert.deepEqual((await readdir(dir)).sort(), ['ca-key.pem', 'ca.pem', 'server-key.pem', 'server.pem']);

  // PKCS#8, the format Node's tls takes as it is.
  assert.match(material.key, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.ok(server.checkPrivateKey(createPrivateKey(material.key)));
  const caKey = await readFile(join(dir, 'ca-key.pem'), 'utf8');
  assert.match(caKey, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.ok(ca.checkPrivateKey(createPrivateKey(caKey)));

  assert.ok(server.checkIssued(ca));
  assert.ok(server.verify(ca.publicKey));
  assert.ok(ca.verify(ca.publicKey), 'the CA is self-signed');
  assert.equal(ca.ca, true);
  assert.equal(server.ca, false);
  assert.equal(server.checkHost('localhost', { subject: 'never' }), 'localhost');
  assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(server.checkIP('::1'), '::1');
  assert.equal(server.checkHost('example.com'), undefined);
  assert.equal(server.checkIP('10.0.0.1'), undefined);
  assert.deepEqual(server.keyUsage, [SERVER_AUTH]);

  const from = new Date(server.validFrom).getTime();
  const to = new Date(server.validTo).getTime();
  assert.ok(from <= before, 'backdated so a client whose clock lags accepts it');
  assert.ok(
    to - before > 360 * DAY_MS && to - before < 398 * DAY_MS,
    `server validity ends ${server.validTo}`,
  );
  const caTo = new Date(ca.validTo).getTime();
  assert.ok(caTo - before > 3640 * DAY_MS && caTo - before < 3660 * DAY_MS, `CA validity ends ${ca.validTo}`);

  // Random, positive serial numbers.
  for (const serial of [server.serialNumber, ca.serialNumber]) {
    assert.match(serial, /^[0-7][0-9A-F]{31}$/i);
  }
  assert.notEqual(server.serialNumber, ca.serialNumber);
});

test('self-signed: names, IPv4, bracketed IPv6 and the all-addresses hosts', async (t) => {
  const named = await ensureSelfSignedTls(await tempDir(t), [
    'Registry.Example.COM.',
    '10.1.2.3',
    '[2001:DB8::1]',
  ]);
  const { server } = certificates(named);
  assert.equal(server.checkHost('registry.example.com', { subject: 'never' }), 'registry.example.com');
  assert.equal(server.checkIP('10.1.2.3'), '10.1.2.3');
  assert.equal(server.checkIP('2001:db8::1'), '2001:db8::1');
  assert.equal(server.checkHost('localhost'), 'localhost');
  assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(server.checkIP('::1'), '::1');
  assert.equal(server.checkHost(hostname()), hostname() === 'localhost' ? 'localhost' : undefined);

  for (const any of ['0.0.0.0', '::', '[::]']) {
    const all = certificates(await ensureSelfSignedTls(await tempDir(t), [any])).server;
    // A machine name that is no DNS name is left out by design.
    if (/^[a-z0-9-]+(\.[a-z0-9-]+)*$/i.test(hostname())) {
      assert.ok(all.checkHost(hostname().toLowerCase()), `${any} covers the machine name ${hostname()}`);
    }
    assert.ok(all.checkHost('localhost'));
    assert.ok(all.checkIP('127.0.0.1'));
    assert.ok(all.checkIP('::1'));
    assert.equal(all.checkIP(any.replace(/[[\]]/g, '')), undefined, 'the unspecified address is no name');
  }

  for (const bad of [
    'bad host',
    'a..b',
    'host:5000',
    '-lead.example',
    'user@host',
    'host/path',
    'ex%61mple.com',
  ]) {
    const message = await refused(ensureSelfSignedTls(await tempDir(t), [bad]));
    assert.ok(message.includes(bad), message);
  }
});

interface Reply {
  status: number;
  body: string;
}

function fetchOver(url: string, options: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, ...options }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

async function failure(promise: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await promise;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  assert.fail('expected the connection to be refused');
}

async function listen(t: { after(fn: () => unknown): void }, material: TlsMaterial, host: string) {
  const server = createServer({ cert: material.cert, key: material.key }, (_request, response) => {
    response.end('berth');
  });
  server.listen(0, host);
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

test('self-signed: a real HTTPS server is trusted by a client that trusts only the generated CA', async (t) => {
  const material = await ensureSelfSignedTls(await tempDir(t), ['127.0.0.1']);
  assert.ok(material.ca);
  const port = await listen(t, material, '127.0.0.1');
  const url = `https://127.0.0.1:${port}/v2/`;

  assert.deepEqual(await fetchOver(url, { ca: [material.ca] }), { status: 200, body: 'berth' });
  assert.deepEqual(await fetchOver(url, { ca: [material.ca], servername: 'localhost' }), {
    status: 200,
    body: 'berth',
  });

  // Without the CA the chain has no trusted root.
  const untrusted = await failure(fetchOver(url, {}));
  assert.match(String(untrusted.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
  // With the CA but for a name the certificate does not carry.
  const otherName = await failure(fetchOver(url, { ca: [material.ca], servername: 'elsewhere.example' }));
  assert.equal(otherName.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  // Another Berth's CA is not ours.
  const foreign = await ensureSelfSignedTls(await tempDir(t), ['127.0.0.1']);
  assert.ok(foreign.ca);
  const wrongCa = await failure(fetchOver(url, { ca: [foreign.ca] }));
  assert.match(
    String(wrongCa.code),
    /UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE|UNABLE_TO_GET_ISSUER/,
  );
});

test('self-signed: the certificate serves over IPv6 loopback too', async (t) => {
  const material = await ensureSelfSignedTls(await tempDir(t), ['::1']);
  assert.ok(material.ca);
  let port: number;
  try {
    port = await listen(t, material, '::1');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT') {
      t.skip('no IPv6 loopback on this machine');
      return;
    }
    throw error;
  }
  assert.deepEqual(await fetchOver(`https://[::1]:${port}/`, { ca: [material.ca] }), {
    status: 200,
    body: 'berth',
  });
});

const openssl = await requireTools('openssl');

test('self-signed: openssl verifies the server certificate against the CA and shows its names', {
  skip: openssl.skip,
}, async (t) => {
  openssl.assertAvailable();
  const material = await ensureSelfSignedTls(await tempDir(t), ['registry.example.com', '10.1.2.3']);
  assert.ok(material.caPath);
  const verified = await execFileAsync('openssl', [
    'verify',
    '-purpose',
    'sslserver',
    '-CAfile',
    material.caPath,
    material.certPath,
  ]);
  assert.equal(verified.stdout.trim(), `${material.certPath}: OK`);

  const server = (await execFileAsync('openssl', ['x509', '-noout', '-text', '-in', material.certPath]))
    .stdout;
  assert.match(server, /DNS:registry\.example\.com/);
  assert.match(server, /DNS:localhost/);
  assert.match(server, /IP Address:10\.1\.2\.3/);
  assert.match(server, /IP Address:127\.0\.0\.1/);
  assert.match(server, /IP Address:0:0:0:0:0:0:0:1/);
  assert.match(server, /CA:FALSE/);
  assert.match(server, /TLS Web Server Authentication/);
  assert.match(server, /X509v3 Subject Key Identifier/);
  assert.match(server, /X509v3 Authority Key Identifier/);
  assert.match(server, /ecdsa-with-SHA256/);

  const ca = (await execFileAsync('openssl', ['x509', '-noout', '-text', '-in', material.caPath])).stdout;
  assert.match(ca, /CA:TRUE, pathlen:0/);
  assert.match(ca, /Certificate Sign, CRL Sign/);

  // The key file is one openssl reads as it is, too.
  const key = await execFileAsync('openssl', ['pkey', '-in', material.keyPath, '-noout']);
  assert.equal(key.stderr, '');
});

test('self-signed: the CA is made once; the server certificate is reissued only for new names or near expiry', async (t) => {
  const data = await tempDir(t);
  const first = await ensureSelfSignedTls(data, ['127.0.0.1']);

  const again = await ensureSelfSignedTls(data, ['127.0.0.1']);
  assert.equal(again.ca, first.ca);
  assert.equal(again.cert, first.cert);
  assert.equal(again.key, first.key);
  // Names the certificate already carries (a loopback name) need no new one either.
  assert.equal((await ensureSelfSignedTls(data, ['localhost'])).cert, first.cert);

  const widened = await ensureSelfSignedTls(data, ['registry.example.com']);
  assert.equal(widened.ca, first.ca, 'the CA clients trust stays');
  assert.notEqual(widened.cert, first.cert);
  assert.notEqual(widened.key, first.key, 'a reissued certificate gets a fresh key');
  const { server, ca } = certificates(widened);
  assert.ok(server.checkHost('registry.example.com'));
  assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));

  // A certificate made 340 days ago has 25 days left: under the 30-day margin.
  const aging = await tempDir(t);
  const old = await ensureSelfSignedTls(aging, ['127.0.0.1'], { now: new Date(Date.now() - 340 * DAY_MS) });
  const oldTo = new Date(certificates(old).server.validTo).getTime();
  assert.ok(oldTo - Date.now() < 30 * DAY_MS);
  const renewed = await ensureSelfSignedTls(aging, ['127.0.0.1']);
  assert.equal(renewed.ca, old.ca);
  assert.notEqual(renewed.cert, old.cert);
  assert.ok(new Date(certificates(renewed).server.validTo).getTime() - Date.now() > 360 * DAY_MS);
  assert.equal((await ensureSelfSignedTls(aging, ['127.0.0.1'])).cert, renewed.cert);
});

test('self-signed: a CA about to expire is replaced and the server certificate never outlives its CA', async (t) => {
  const data = await tempDir(t);
  // Made ten years less ten days ago: the CA has ten days left.
  const old = await ensureSelfSignedTls(data, ['127.0.0.1'], { now: new Date(Date.now() - 3640 * DAY_MS) });
  const oldCa = certificates(old).ca;
  assert.ok(new Date(oldCa.validTo).getTime() - Date.now() < 11 * DAY_MS);

  const fresh = await ensureSelfSignedTls(data, ['127.0.0.1']);
  assert.notEqual(fresh.ca, old.ca);
  const { server, ca } = certificates(fresh);
  assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
  assert.equal(server.checkIssued(oldCa), false);

  // Made 9.5 years ago: the CA has half a year left, which is all a new server certificate gets.
  const late = await tempDir(t);
  await ensureSelfSignedTls(late, ['127.0.0.1'], { now: new Date(Date.now() - 3467 * DAY_MS) });
  const clamped = certificates(
    await ensureSelfSignedTls(late, ['127.0.0.1'], { now: new Date(Date.now() - 60 * DAY_MS) }),
  );
  assert.ok(new Date(clamped.server.validTo).getTime() <= new Date(clamped.ca.validTo).getTime());
});

test('self-signed: a broken CA is reported, a broken server certificate is simply made again', async (t) => {
  const data = await tempDir(t);
  const first = await ensureSelfSignedTls(data, ['127.0.0.1']);
  const dir = join(data, 'tls');

  await writeFile(join(dir, 'server.pem'), 'garbage');
  const remade = await ensureSelfSignedTls(data, ['127.0.0.1']);
  assert.equal(remade.ca, first.ca);
  assert.notEqual(remade.cert, first.cert);
  assert.ok(certificates(remade).server.checkIssued(certificates(remade).ca));

  // A server key that no longer matches is also remade.
  await writeFile(join(dir, 'server-key.pem'), first.key);
  const rekeyed = await ensureSelfSignedTls(data, ['127.0.0.1']);
  assert.ok(new X509Certificate(rekeyed.cert).checkPrivateKey(createPrivateKey(rekeyed.key)));

  // The CA's key replaced by another: clients trust this CA, so Berth refuses rather than quietly making a new one.
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  await writeFile(join(dir, 'ca-key.pem'), other.export({ type: 'pkcs8', format: 'pem' }));
  const mismatch = await refused(ensureSelfSignedTls(data, ['127.0.0.1']));
  assert.ok(mismatch.includes(join(dir, 'ca.pem')), mismatch);

  await writeFile(join(dir, 'ca.pem'), 'not a certificate');
  assert.ok((await refused(ensureSelfSignedTls(data, ['127.0.0.1']))).includes(join(dir, 'ca.pem')));
});

test('self-signed: concurrent starts on one data folder agree on one CA', async (t) => {
  const data = await tempDir(t);
  const results = await Promise.all([1, 2, 3, 4].map(() => ensureSelfSignedTls(data, ['127.0.0.1'])));
  const onDisk = await readFile(join(data, 'tls', 'ca.pem'), 'utf8');
  for (const material of results) {
    assert.equal(material.ca, onDisk);
    assert.ok(certificates(material).server.checkPrivateKey(createPrivateKey(material.key)));
  }
  const { server, ca } = certificates(await ensureSelfSignedTls(data, ['127.0.0.1']));
  assert.ok(server.checkIssued(ca));
});

test('loadTlsFiles: certificate and key files an operator brings', async (t) => {
  const dir = await tempDir(t);
  const made = await ensureSelfSignedTls(dir, ['127.0.0.1']);
  assert.ok(made.ca);

  const loaded = await loadTlsFiles(made.certPath, made.keyPath);
  assert.deepEqual(loaded, {
    cert: made.cert,
    key: made.key,
    certPath: made.certPath,
    keyPath: made.keyPath,
  });

  // A chain (leaf, then the CA) and a SEC1 'EC PRIVATE KEY' are accepted as they are.
  const chain = join(dir, 'chain.pem');
  await writeFile(chain, made.cert + made.ca);
  const sec1 = join(dir, 'sec1-key.pem');
  await writeFile(sec1, createPrivateKey(made.key).export({ type: 'sec1', format: 'pem' }));
  const chained = await loadTlsFiles(chain, sec1);
  assert.equal(chained.cert, made.cert + made.ca);
  // ...and Node's tls serves them.
  const port = await listen(t, chained, '127.0.0.1');
  assert.equal((await fetchOver(`https://127.0.0.1:${port}/`, { ca: [made.ca] })).status, 200);
});

test('loadTlsFiles: each way a file can be wrong is refused with the file named', async (t) => {
  const dir = await tempDir(t);
  const made = await ensureSelfSignedTls(dir, ['127.0.0.1']);
  const write = async (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    await writeFile(path, content);
    return path;
  };

  const missingCert = join(dir, 'missing-cert.pem');
  const message = await refused(loadTlsFiles(missingCert, made.keyPath));
  assert.ok(message.includes(missingCert) && message.includes('does not exist'), message);
  const missingKey = join(dir, 'missing-key.pem');
  assert.ok((await refused(loadTlsFiles(made.certPath, missingKey))).includes(missingKey));

  const folder = join(dir, 'a-folder');
  await mkdir(folder);
  assert.ok((await refused(loadTlsFiles(folder, made.keyPath))).includes(folder));

  const text = await write('text.pem', 'hello, not a certificate\n');
  assert.ok((await refused(loadTlsFiles(text, made.keyPath))).includes(text));
  assert.ok((await refused(loadTlsFiles(made.certPath, text))).includes(text));

  const der = await write('cert.der', new X509Certificate(made.cert).raw);
  assert.match(await refused(loadTlsFiles(der, made.keyPath)), /-inform der/);

  const damaged = await write(
    'damaged.pem',
    '-----BEGIN CERTIFICATE-----\nTUlJQm9yZGVyZWQ=\n-----END CERTIFICATE-----\n',
  );
  assert.ok((await refused(loadTlsFiles(damaged, made.keyPath))).includes(damaged));

  const swapped = await refused(loadTlsFiles(made.keyPath, made.certPath));
  assert.ok(swapped.includes(made.keyPath) && swapped.includes('swapped'), swapped);

  const encrypted = await write(
    'encrypted-key.pem',
    createPrivateKey(made.key).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    }),
  );
  assert.match(await refused(loadTlsFiles(made.certPath, encrypted)), /encrypted/);

  // Keys that are not the certificate's: another EC key, and an RSA key.
  const otherEc = await write(
    'other-ec.pem',
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  );
  const mismatch = await refused(loadTlsFiles(made.certPath, otherEc));
  assert.ok(mismatch.includes(otherEc) && mismatch.includes(made.certPath), mismatch);
  const rsa = await write(
    'rsa.pem',
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  );
  assert.ok((await refused(loadTlsFiles(made.certPath, rsa))).includes(rsa));
});
