import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { test } from 'node:test';
import { type Digest, digestOf } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import { artifactManifest, referrersFallbackTag, referrersOf, withReferrer } from './attached-artifact.js';
import {
  decryptKeyEnvelope,
  encryptKeyEnvelope,
  generateCosignKeyPair,
  readCosignPrivateKey,
  readPublicKey,
} from './cosign-key.js';
import { appendSignature, signatureLayers, signatureTag } from './signature-manifest.js';
import {
  checkSignatureLayer,
  parseAnnotationFlags,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signPayload,
  simpleSigningPayload,
} from './simple-signing.js';

const digest = digestOf(Buffer.from('image')) as Digest;
const other = digestOf(Buffer.from('other image')) as Digest;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof BerthError ? error.code : 'not-a-berth-error';
  }
}

test('the key envelope opens with its passphrase only, and refuses unbounded scrypt costs', () => {
  const sealed = encryptKeyEnvelope(Buffer.from('secret der'), 'pass');
  assert.equal(decryptKeyEnvelope(sealed, 'pass').toString(), 'secret der');
  const envelope = JSON.parse(sealed.toString());
  assert.deepEqual(envelope.kdf.params, { N: 32768, r: 8, p: 1 });
  assert.equal(envelope.cipher.name, 'nacl/secretbox');
  assert.equal(Buffer.from(envelope.kdf.salt, 'base64').length, 32);
  assert.equal(Buffer.from(envelope.cipher.nonce, 'base64').length, 24);
  const cases: [string, Buffer, string][] = [
    ['wrong passphrase', sealed, 'KEY_PASSWORD_WRONG'],
    [
      'huge N',
      Buffer.from(
        JSON.stringify({ ...envelope, kdf: { ...envelope.kdf, params: { N: 2 ** 24, r: 8, p: 1 } } }),
      ),
      'KEY_INVALID',
    ],
    [
      'other cipher',
      Buffer.from(JSON.stringify({ ...envelope, cipher: { ...envelope.cipher, name: 'aes' } })),
      'KEY_INVALID',
    ],
    ['not JSON', Buffer.from('nope'), 'KEY_INVALID'],
  ];
  for (const [name, bytes, code] of cases)
    assert.equal(
      codeOf(() => decryptKeyEnvelope(bytes, name === 'wrong passphrase' ? 'other' : 'pass')),
      code,
      name,
    );
});

test('generated key files read back; other PEM types and curves are refused', () => {
  const pair = generateCosignKeyPair('');
  const key = readCosignPrivateKey(pair.privatePem, '');
  const payload = Buffer.from('payload');
  assert.ok(
    verify(
      'sha256',
      payload,
      readPublicKey(pair.publicPem),
      Buffer.from(signPayload(payload, key), 'base64'),
    ),
  );
  assert.equal(
    codeOf(() => readCosignPrivateKey(pair.privatePem.replaceAll('ENCRYPTED SIGSTORE', 'PLAIN'), '')),
    'KEY_INVALID',
  );
  assert.equal(
    codeOf(() => readPublicKey(pair.privatePem)),
    'KEY_INVALID',
  );
  assert.equal(
    codeOf(() => readPublicKey('no pem here')),
    'KEY_INVALID',
  );
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({
    format: 'pem',
    type: 'spki',
  });
  assert.equal(
    codeOf(() => readPublicKey(p384.toString())),
    'KEY_INVALID',
  );
});

test('signature checks, one reason per way a layer can fail', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const payload = simpleSigningPayload('reg/app', digest, { release: 'v1' });
  const signature = signPayload(payload, privateKey);
  const layer = (over: Record<string, unknown> = {}) => ({
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest: digestOf(payload),
    size: payload.length,
    annotations: { [SIGNATURE_ANNOTATION]: signature },
    ...over,
  });
  const wrongType = Buffer.from(payload.toString().replace('cosign container image signature', 'other'));
  const capitalised = Buffer.from(
    payload.toString().replace('docker-manifest-digest', 'Docker-manifest-digest'),
  );
  const table: [string, Parameters<typeof checkSignatureLayer>[0], string][] = [
    ['valid', { layer: layer(), payload, publicKey, digest, required: {} }, 'verified'],
    [
      'claims present',
      { layer: layer(), payload, publicKey, digest, required: { release: 'v1' } },
      'verified',
    ],
    [
      'claim differs',
      { layer: layer(), payload, publicKey, digest, required: { release: 'v2' } },
      'annotation-mismatch',
    ],
    [
      'claim absent',
      { layer: layer(), payload, publicKey, digest, required: { team: 'x' } },
      'annotation-mismatch',
    ],
    ['other image', { layer: layer(), payload, publicKey, digest: other, required: {} }, 'digest-mismatch'],
    [
      'other key',
      { layer: layer(), payload, publicKey: stranger, digest, required: {} },
      'signature-mismatch',
    ],
    [
      'media type',
      { layer: layer({ mediaType: 'application/json' }), payload, publicKey, digest, required: {} },
      'not-simple-signing',
    ],
    [
      'no annotation',
      { layer: layer({ annotations: {} }), payload, publicKey, digest, required: {} },
      'no-signature',
    ],
    [
      'blob missing',
      { layer: layer(), payload: undefined, publicKey, digest, required: {} },
      'payload-missing',
    ],
    [
      'blob swapped',
      {
        layer: layer(),
        payload: Buffer.from(payload.toString().replace('v1', 'v2')),
        publicKey,
        digest,
        required: {},
      },
      'payload-digest-mismatch',
    ],
    [
      'wrong type',
      {
        layer: layer({
          digest: digestOf(wrongType),
          size: wrongType.length,
          annotations: { [SIGNATURE_ANNOTATION]: signPayload(wrongType, privateKey) },
        }),
        payload: wrongType,
        publicKey,
        digest,
        required: {},
      },
      'wrong-type',
    ],
    [
      'field names in any case, as Go reads them',
      {
        layer: layer({
          digest: digestOf(capitalised),
          size: capitalised.length,
          annotations: { [SIGNATURE_ANNOTATION]: signPayload(capitalised, privateKey) },
        }),
        payload: capitalised,
        publicKey,
        digest,
        required: {},
      },
      'verified',
    ],
  ];
  for (const [name, input, expected] of table) {
    const check = checkSignatureLayer(input);
    assert.equal(check.verified ? 'verified' : check.reason, expected, name);
  }
});

test('payload bytes, tags, annotations and signature manifests', () => {
  assert.equal(
    simpleSigningPayload('reg/app', digest, {}).toString(),
    `{"critical":{"identity":{"docker-reference":"reg/app"},"image":{"docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"optional":null}`,
  );
  assert.match(
    simpleSigningPayload('r', digest, { b: '2', a: '1' }).toString(),
    /"optional":\{"a":"1","b":"2"\}/,
  );
  assert.equal(signatureTag(digest), `sha256-${digest.slice(7)}.sig`);
  assert.deepEqual(parseAnnotationFlags(['a=b=c', 'd=']), { a: 'b=c', d: '' });
  assert.equal(
    codeOf(() => parseAnnotationFlags(['novalue'])),
    'USAGE',
  );
  assert.equal(
    codeOf(() => parseAnnotationFlags(['a=1', 'a=2'])),
    'USAGE',
  );
  const layer = {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest,
    size: 5,
    annotations: { [SIGNATURE_ANNOTATION]: 'c2ln' },
  };
  const first = appendSignature([], layer);
  assert.equal(first.added, true);
  const layers = signatureLayers(first.manifest);
  assert.equal(appendSignature(layers, layer).added, false, 'the same signature is not stored twice');
  assert.equal(
    appendSignature(layers, { ...layer, annotations: { [SIGNATURE_ANNOTATION]: 'b3RoZXI=' } }).added,
    true,
  );
  assert.deepEqual(JSON.parse(first.config.toString()).rootfs.diff_ids, [digest]);
  assert.equal(
    codeOf(() => signatureLayers(Buffer.from('{"schemaVersion":2,"manifests":[]}'))),
    'SIGNATURE_INVALID',
  );
});

test('attached artifacts: the manifest names its subject; the fallback index replaces an entry of the same digest', () => {
  const manifest = JSON.parse(
    artifactManifest({
      artifactType: 'application/spdx+json',
      blob: { mediaType: 'application/spdx+json', digest, size: 10 },
      subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: other, size: 20 },
    }).toString(),
  );
  assert.equal(manifest.subject.digest, other);
  assert.equal(manifest.config.mediaType, 'application/vnd.oci.empty.v1+json');
  assert.equal(manifest.annotations, undefined);
  assert.equal(referrersFallbackTag(digest), `sha256-${digest.slice(7)}`);
  const entry = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 };
  const once = withReferrer(undefined, entry);
  const twice = withReferrer(withReferrer(once, { ...entry, digest: other }), { ...entry, size: 2 });
  assert.deepEqual(
    referrersOf(twice).map((m) => [m.digest, m.size]),
    [
      [other, 1],
      [digest, 2],
    ],
  );
  assert.equal(
    codeOf(() => referrersOf(Buffer.from('[]'))),
    'REGISTRY_ERROR',
  );
});
