import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InventoryFile } from '../types.js';
import { readApkInstalled } from './apk-reader.js';

// Records in the layout apk writes (C: checksum, per-file F:/R:/Z: lines after the package fields).
const INSTALLED = `C:Q1abcdefabcdefabcdefabcdefabcdefabcd=
P:musl
V:1.2.5-r0
A:x86_64
S:408180
I:667648
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712136553
c:6cc9b7a0b1f6a1d0b0b8f9d47e7d5d1e4e0a0b7f
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1yFfIxxbaXD7k9dI+PsrPpHs4mPc=

C:Q1ffffffffffffffffffffffffffffffffffff=
P:libcrypto3
V:3.3.1-r0
A:x86_64
T:Crypto library from openssl
L:Apache-2.0
o:openssl
m:Ariadne Conill <ariadne@dereferenced.org>

P:broken-no-version
A:x86_64

`;

function file(text: string): InventoryFile {
  return {
    path: '/lib/apk/db/installed',
    content: Buffer.from(text),
    layerIndex: 0,
    layerDigest: 'sha256:apk',
  };
}

test('apk installed database: names, origins, licenses, purls; a record without V: is an issue', () => {
  const result = readApkInstalled(file(INSTALLED), { id: 'alpine', versionId: '3.20.1' });
  assert.deepEqual(
    result.packages.map((p) => [p.name, p.version, p.sourceName, p.licenses?.[0], p.arch, p.supplier]),
    [
      ['musl', '1.2.5-r0', 'musl', 'MIT', 'x86_64', 'Natanael Copa <ncopa@alpinelinux.org>'],
      [
        'libcrypto3',
        '3.3.1-r0',
        'openssl',
        'Apache-2.0',
        'x86_64',
        'Ariadne Conill <ariadne@dereferenced.org>',
      ],
    ],
  );
  assert.equal(
    result.packages[1]?.purl,
    'pkg:apk/alpine/libcrypto3@3.3.1-r0?arch=x86_64&distro=alpine-3.20.1',
  );
  assert.equal(result.packages[0]?.description, 'the musl c library (libc) implementation');
  assert.deepEqual(
    result.issues.map((i) => [i.code, i.path]),
    [['APK_RECORD_INVALID', '/lib/apk/db/installed']],
  );
  assert.match(result.issues[0]?.message ?? '', /line 28/);
});

test('a database cut anywhere, or binary noise, never throws', () => {
  for (let size = 0; size <= INSTALLED.length; size += 5) {
    readApkInstalled(file(INSTALLED.slice(0, size)));
  }
  const noise = Buffer.alloc(2048);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 131) % 256;
  const result = readApkInstalled({ ...file(''), content: noise });
  assert.equal(result.packages.length, 0);
});
