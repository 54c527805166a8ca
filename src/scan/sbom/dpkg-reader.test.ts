import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  inventoryInputFromDir,
  scanFixtures,
  scanFixturesGate,
} from '../../../test/support/scan-fixtures.js';
import type { InventoryFile, InventoryInput } from '../types.js';
import { readDpkgStatus } from './dpkg-reader.js';
import { readInventory } from './read-inventory.js';

const debian12 = { id: 'debian', versionId: '12' };

function statusFile(text: string, path = '/var/lib/dpkg/status'): InventoryFile {
  return { path, content: Buffer.from(text), layerIndex: 2, layerDigest: 'sha256:abc' };
}

describe('dpkg status of a debootstrap bookworm root', { skip: scanFixturesGate.skip }, () => {
  let input: InventoryInput;
  before(async () => {
    const fixtures = await scanFixtures();
    input = await inventoryInputFromDir(fixtures.debianRoot);
  });

  test('the OS and the known packages, with source packages and purls', () => {
    const inventory = readInventory(input);
    assert.equal(inventory.os?.id, 'debian');
    assert.equal(inventory.os?.versionId, '12');
    assert.equal(inventory.os?.versionCodename, 'bookworm');
    assert.deepEqual(inventory.issues, []);
    const debs = inventory.packages.filter((p) => p.type === 'deb');
    assert.ok(debs.length > 80, `only ${debs.length} packages`);
    const byName = new Map(debs.map((p) => [p.name, p]));
    const libc = byName.get('libc6');
    assert.ok(libc, 'libc6');
    assert.equal(libc.sourceName, 'glibc');
    assert.equal(libc.sourceVersion, libc.version);
    assert.match(libc.version, /^2\.36-9/);
    assert.equal(libc.arch, 'amd64');
    assert.equal(libc.location, '/var/lib/dpkg/status');
    assert.equal(libc.purl, `pkg:deb/debian/libc6@${libc.version}?arch=amd64&distro=debian-12`);
    assert.match(byName.get('base-files')?.version ?? '', /^12\./);
    assert.equal(byName.get('base-files')?.sourceName, 'base-files');
    assert.ok(byName.get('dpkg'));
    assert.equal(byName.get('python3-six')?.sourceName, 'six');
    assert.match(byName.get('libc6')?.supplier ?? '', /debian-glibc@lists\.debian\.org/);
    // Every package is listed once: dpkg knows each name (and architecture) once.
    assert.equal(new Set(debs.map((p) => `${p.name}:${p.arch}`)).size, debs.length);
  });

  test('the status file cut at any point never throws, and a cut stanza is reported', () => {
    const whole = input.files.get('/var/lib/dpkg/status')?.content;
    assert.ok(whole);
    const full = readDpkgStatus(statusFile(whole.toString()), debian12).packages.length;
    // The first stanza starts the file, so this finds the 11th; cut right after its Package line.
    const text = whole.toString();
    let at = 0;
    for (let i = 0; i < 10; i++) at = text.indexOf('\nPackage: ', at + 1);
    const cut = text.indexOf('\n', at + 1);
    const result = readDpkgStatus(statusFile(text.slice(0, cut + 1)), debian12);
    assert.equal(result.packages.length, 10);
    assert.equal(result.issues.length, 1);
    assert.equal(result.issues[0]?.code, 'DPKG_STANZA_INVALID');
    assert.equal(result.issues[0]?.path, '/var/lib/dpkg/status');
    for (const size of [1, 7, 100, 5000, 33333, whole.length - 3]) {
      const part = readDpkgStatus(statusFile(whole.subarray(0, size).toString()), debian12);
      assert.ok(part.packages.length <= full);
    }
  });
});

test('broken stanzas are reported with path, line and layer; the rest is read', () => {
  const text = [
    'Package: good-one',
    'Status: install ok installed',
    'Version: 1.0-1',
    'Architecture: amd64',
    '',
    'Package: no-version',
    'Status: install ok installed',
    '',
    'Package: garbage-inside',
    'Status: install ok installed',
    'Version: 2.0',
    'this line is not a field',
    '',
    ' continuation without a field',
    '',
    'Package: removed',
    'Status: deinstall ok config-files',
    'Version: 3.0',
    '',
    'Package: good-two',
    'Status: install ok installed',
    'Version: 1:4.2~rc1-0+deb12u1',
    'Source: good-src (4.2~rc1-0)',
    'Maintainer: Someone <someone@example.org>',
    'Description: first line',
    ' more text',
  ].join('\n');
  const result = readDpkgStatus(statusFile(text), debian12);
  assert.deepEqual(
    result.packages.map((p) => [p.name, p.version, p.sourceName, p.sourceVersion]),
    [
      ['good-one', '1.0-1', 'good-one', '1.0-1'],
      ['good-two', '1:4.2~rc1-0+deb12u1', 'good-src', '4.2~rc1-0'],
    ],
  );
  assert.equal(result.packages[1]?.description, 'first line');
  assert.equal(result.packages[1]?.purl, 'pkg:deb/debian/good-two@1:4.2~rc1-0+deb12u1?distro=debian-12');
  assert.deepEqual(
    result.issues.map((i) => [
      i.code,
      i.path,
      i.layerIndex,
      i.layerDigest,
      /line (\d+)/.exec(i.message)?.[1],
    ]),
    [
      ['DPKG_STANZA_INVALID', '/var/lib/dpkg/status', 2, 'sha256:abc', '6'],
      ['DPKG_STANZA_INVALID', '/var/lib/dpkg/status', 2, 'sha256:abc', '9'],
      ['DPKG_STANZA_INVALID', '/var/lib/dpkg/status', 2, 'sha256:abc', '14'],
    ],
  );
});

test('binary garbage is reported, not thrown', () => {
  const bytes = Buffer.alloc(4096);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
  const result = readDpkgStatus({ ...statusFile(''), content: bytes }, debian12);
  assert.equal(result.packages.length, 0);
  assert.ok(result.issues.length > 0);
  assert.ok(result.issues.every((i) => i.code === 'DPKG_STANZA_INVALID'));
});

test('distroless status.d files have no Status field; Ubuntu gets its own purl namespace', () => {
  const file = statusFile(
    'Package: libssl3\nVersion: 3.0.13-0ubuntu3\nArchitecture: arm64\nSource: openssl\n',
    '/var/lib/dpkg/status.d/libssl3',
  );
  const result = readDpkgStatus(file, { id: 'ubuntu', versionId: '24.04' });
  assert.equal(result.packages.length, 1);
  assert.equal(result.packages[0]?.sourceName, 'openssl');
  assert.equal(result.packages[0]?.location, '/var/lib/dpkg/status.d/libssl3');
  assert.equal(
    result.packages[0]?.purl,
    'pkg:deb/ubuntu/libssl3@3.0.13-0ubuntu3?arch=arm64&distro=ubuntu-24.04',
  );
  // In the main status file a stanza without Status is not installed.
  assert.equal(readDpkgStatus(statusFile(file.content.toString()), debian12).packages.length, 0);
});
