import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  inventoryInputFromDir,
  scanFixtures,
  scanFixturesGate,
} from '../../../test/support/scan-fixtures.js';
import type { InventoryFile, InventoryInput } from '../types.js';
import { readNpmPackages } from './npm-reader.js';
import { readInventory } from './read-inventory.js';

function file(path: string, text: string): InventoryFile {
  return { path, content: Buffer.from(text), layerIndex: 3, layerDigest: 'sha256:npm' };
}

describe('an npm tree installed by npm', { skip: scanFixturesGate.skip }, () => {
  let input: InventoryInput;
  before(async () => {
    const fixtures = await scanFixtures();
    input = await inventoryInputFromDir(fixtures.npmTree);
  });

  test('installed packages from node_modules, once each, at their package.json', () => {
    const inventory = readInventory(input);
    assert.deepEqual(inventory.issues, []);
    const npm = inventory.packages.filter((p) => p.type === 'npm');
    const byName = new Map(npm.map((p) => [`${p.name}@${p.version}`, p]));
    const x509 = [...byName.values()].find((p) => p.name === '@peculiar/x509');
    assert.ok(x509);
    assert.equal(x509.purl, `pkg:npm/%40peculiar/x509@${x509.version}`);
    assert.equal(x509.location, '/app/node_modules/@peculiar/x509/package.json');
    assert.deepEqual(x509.licenses, ['MIT']);
    for (const name of ['zod', 'semver', 'commander']) {
      const pkg = npm.find((p) => p.name === name);
      assert.ok(pkg, name);
      assert.equal(pkg.location, `/app/node_modules/${name}/package.json`);
      assert.equal(pkg.purl, `pkg:npm/${name}@${pkg.version}`);
    }
    assert.deepEqual(npm.find((p) => p.name === 'semver')?.licenses, ['ISC']);
    // Nested copies at another version are separate installs.
    const tslib = npm.filter((p) => p.name === 'tslib').map((p) => p.location);
    assert.ok(tslib.includes('/app/node_modules/tsyringe/node_modules/tslib/package.json'), tslib.join());
    // The lock files name the same packages: nothing is listed twice, nothing comes from a lock file.
    assert.equal(byName.size, npm.length);
    assert.ok(npm.every((p) => p.location.endsWith('/package.json')));
    // The deeper package.json files inside zod (zod/v4/package.json) are not packages.
    assert.equal(npm.filter((p) => p.name === 'zod').length, 1);
  });

  test('the lock file alone gives the same packages, located at the lock file', () => {
    const lock = input.files.get('/app/package-lock.json');
    assert.ok(lock);
    const fromLock = readNpmPackages([lock]);
    const fromTree = readInventory(input).packages;
    assert.deepEqual(
      fromLock.packages.map((p) => `${p.name}@${p.version}`).sort(),
      fromTree.map((p) => `${p.name}@${p.version}`).sort(),
    );
    assert.ok(fromLock.packages.every((p) => p.location === '/app/package-lock.json'));
  });
});

test('lock file v1 dependency trees, dev entries left out, links and URLs skipped', () => {
  const v1 = file(
    '/srv/app/package-lock.json',
    JSON.stringify({
      lockfileVersion: 1,
      dependencies: {
        express: { version: '4.17.1', dependencies: { 'safe-buffer': { version: '5.1.2' } } },
        mocha: { version: '10.0.0', dev: true },
        mine: { version: 'git+https://example.invalid/mine.git#abc' },
      },
    }),
  );
  const v3 = file(
    '/srv/other/package-lock.json',
    JSON.stringify({
      lockfileVersion: 3,
      packages: {
        '': { name: 'other', version: '1.0.0' },
        'node_modules/@types/node': { version: '20.1.0', dev: true },
        'node_modules/local': { resolved: 'packages/local', link: true },
        'node_modules/alias': { name: 'real-name', version: '2.0.0' },
        'node_modules/express': { version: '4.17.1' },
      },
    }),
  );
  const installed = file(
    '/srv/app/node_modules/express/package.json',
    '{"name":"express","version":"4.17.1"}',
  );
  const result = readNpmPackages([installed, v1, v3]);
  assert.deepEqual(result.issues, []);
  assert.deepEqual(
    result.packages.map((p) => [p.name, p.version, p.location]),
    [
      ['express', '4.17.1', '/srv/app/node_modules/express/package.json'],
      ['safe-buffer', '5.1.2', '/srv/app/package-lock.json'],
      ['real-name', '2.0.0', '/srv/other/package-lock.json'],
    ],
  );
});

test('licenses and authors in their several shapes', () => {
  const result = readNpmPackages([
    file(
      '/a/node_modules/one/package.json',
      '{"name":"one","version":"1.0.0","license":{"type":"BSD-3-Clause"},"author":{"name":"Ann","email":"ann@example.org"}}',
    ),
    file(
      '/a/node_modules/two/package.json',
      '{"name":"two","version":"1.0.0","licenses":[{"type":"MIT"},{"type":"Apache-2.0"}],"author":"Bob <bob@example.org>"}',
    ),
  ]);
  assert.deepEqual(result.packages[0]?.licenses, ['BSD-3-Clause']);
  assert.equal(result.packages[0]?.supplier, 'Ann <ann@example.org>');
  assert.deepEqual(result.packages[1]?.licenses, ['MIT', 'Apache-2.0']);
  assert.equal(result.packages[1]?.supplier, 'Bob <bob@example.org>');
});

test('a package.json that is not JSON, or lacks a name, is an issue with its path', () => {
  const result = readNpmPackages([
    file('/app/node_modules/broken/package.json', '{"name": "broken", "version": '),
    file('/app/node_modules/nameless/package.json', '{"version":"1.0.0"}'),
    file('/app/node_modules/array/package.json', '[1,2]'),
    file('/app/package-lock.json', '\u0000\u0001binary'),
    file('/app/node_modules/fine/package.json', '{"name":"fine","version":"0.1.0"}'),
  ]);
  assert.deepEqual(
    result.packages.map((p) => p.name),
    ['fine'],
  );
  assert.deepEqual(
    result.issues.map((i) => [i.code, i.path, i.layerIndex]),
    [
      ['NPM_PACKAGE_INVALID', '/app/node_modules/broken/package.json', 3],
      ['NPM_PACKAGE_INVALID', '/app/node_modules/nameless/package.json', 3],
      ['NPM_PACKAGE_INVALID', '/app/node_modules/array/package.json', 3],
      ['NPM_PACKAGE_INVALID', '/app/package-lock.json', 3],
    ],
  );
});
