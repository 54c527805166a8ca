import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InventoryFile } from '../types.js';
import { isInventoryFile } from './inventory-files.js';
import { osFromReleaseFile, parseOsRelease } from './os-release.js';
import { detectOs } from './read-inventory.js';

test('isInventoryFile keeps the files the readers read', () => {
  const wanted = [
    '/etc/os-release',
    '/usr/lib/os-release',
    '/etc/alpine-release',
    '/etc/debian_version',
    '/etc/redhat-release',
    '/var/lib/dpkg/status',
    '/var/lib/dpkg/status.d/libc6',
    '/var/lib/dpkg/status.d/base-files',
    '/lib/apk/db/installed',
    '/var/lib/rpm/rpmdb.sqlite',
    '/usr/lib/sysimage/rpm/rpmdb.sqlite',
    '/app/node_modules/zod/package.json',
    '/app/node_modules/@peculiar/x509/package.json',
    '/app/node_modules/tsyringe/node_modules/tslib/package.json',
    '/app/package-lock.json',
    '/srv/npm-shrinkwrap.json',
    '/app/node_modules/.package-lock.json',
    '/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO',
    '/usr/lib/python3.11/site-packages/pip-23.2.1.dist-info/METADATA',
    '/usr/lib/python3/dist-packages/old_dist-1.0.egg-info',
  ];
  for (const path of wanted) assert.equal(isInventoryFile(path), true, path);
});

test('isInventoryFile leaves out everything else, including look-alikes', () => {
  const unwanted = [
    '/etc/os-release.bak',
    '/var/lib/dpkg/status-old',
    '/var/lib/dpkg/status.d/libc6.md5sums',
    '/var/lib/dpkg/status.d/',
    '/var/lib/dpkg/status.d/sub/libc6',
    '/var/lib/rpm/Packages',
    '/app/package.json',
    '/app/node_modules/zod/v4/package.json',
    '/app/node_modules/@peculiar/x509/build/package.json',
    '/app/node_modules/@scope/package.json',
    '/app/node_modules/.bin/package.json',
    '/app/node_modules/foo/package-lock.json',
    '/app/node_modules/foo/node_modules/.package-lock.json/extra',
    '/usr/lib/python3/dist-packages/pip/METADATA',
    '/usr/lib/python3/dist-packages/six-1.16.0.egg-info/top_level.txt',
    '/usr/bin/python3',
  ];
  for (const path of unwanted) assert.equal(isInventoryFile(path), false, path);
});

test('os-release: quoted values, escapes and comments', () => {
  const os = parseOsRelease(
    [
      '# a comment',
      'NAME="Alpine Linux"',
      'ID=alpine',
      "VERSION_ID='3.20.1'",
      'PRETTY_NAME="Alpine \\"Linux\\" v3.20"',
      '',
      'HOME_URL="https://alpinelinux.org/"',
    ].join('\n'),
  );
  assert.deepEqual(os, { id: 'alpine', versionId: '3.20.1', prettyName: 'Alpine "Linux" v3.20' });
  assert.equal(parseOsRelease('NAME=nothing\n'), undefined);
  assert.equal(parseOsRelease('garbage\x00\xff'), undefined);
});

test('the older release files stand in when os-release is missing', () => {
  assert.deepEqual(osFromReleaseFile('/etc/alpine-release', '3.19.1\n'), {
    id: 'alpine',
    versionId: '3.19.1',
  });
  assert.deepEqual(osFromReleaseFile('/etc/debian_version', '12.6\n'), { id: 'debian', versionId: '12' });
  assert.deepEqual(osFromReleaseFile('/etc/redhat-release', 'Rocky Linux release 9.4 (Blue Onyx)\n'), {
    id: 'rocky',
    versionId: '9.4',
    prettyName: 'Rocky Linux release 9.4 (Blue Onyx)',
  });
  const file = (path: string, text: string): [string, InventoryFile] => [
    path,
    { path, content: Buffer.from(text), layerIndex: 0, layerDigest: 'sha256:x' },
  ];
  const files = new Map([
    file('/etc/debian_version', '11.9\n'),
    file('/usr/lib/os-release', 'ID=ubuntu\nVERSION_ID="22.04"\n'),
  ]);
  assert.equal(detectOs(files)?.id, 'ubuntu');
  files.delete('/usr/lib/os-release');
  assert.deepEqual(detectOs(files), { id: 'debian', versionId: '11' });
});
