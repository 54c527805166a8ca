import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  inventoryInputFromDir,
  type ScanFixtures,
  scanFixtures,
  scanFixturesGate,
} from '../../../test/support/scan-fixtures.js';
import type { InventoryFile } from '../types.js';
import { normalizePythonName, readPythonDistributions } from './python-reader.js';
import { readInventory } from './read-inventory.js';

function file(path: string, text: string): InventoryFile {
  return { path, content: Buffer.from(text), layerIndex: 0, layerDigest: 'sha256:py' };
}

describe('Python distributions as pip and Debian installed them', { skip: scanFixturesGate.skip }, () => {
  let fixtures: ScanFixtures;
  before(async () => {
    fixtures = await scanFixtures();
  });

  test('pip-installed dist-info: the local wheel, pip and setuptools', async () => {
    const inventory = readInventory(await inventoryInputFromDir(fixtures.pythonSite));
    assert.deepEqual(inventory.issues, []);
    const byName = new Map(inventory.packages.map((p) => [p.name, p]));
    const sample = byName.get('Berth_Sample.Tool');
    assert.ok(sample, [...byName.keys()].join());
    assert.equal(sample.version, '1.4.2');
    assert.equal(sample.purl, 'pkg:pypi/berth-sample-tool@1.4.2');
    assert.deepEqual(sample.licenses, ['MIT']);
    assert.equal(sample.supplier, 'Berth Tests');
    assert.equal(sample.description, 'A tiny distribution the Berth scan tests install');
    assert.equal(
      sample.location,
      '/usr/lib/python3/site-packages/berth_sample_tool-1.4.2.dist-info/METADATA',
    );
    const pip = byName.get('pip');
    assert.ok(pip);
    assert.match(pip.version, /^\d+\.\d+/);
    assert.equal(pip.purl, `pkg:pypi/pip@${pip.version}`);
    assert.ok(byName.get('setuptools'));
    assert.ok(inventory.packages.every((p) => p.type === 'pypi'));
  });

  test('Debian python3 packages ship egg-info folders', async () => {
    const inventory = readInventory(await inventoryInputFromDir(fixtures.debianRoot));
    const pypi = inventory.packages.filter((p) => p.type === 'pypi');
    const six = pypi.find((p) => p.name === 'six');
    assert.equal(six?.version, '1.16.0');
    assert.equal(six?.location, '/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO');
    assert.deepEqual(six?.licenses, ['MIT']);
    assert.equal(pypi.find((p) => p.name === 'certifi')?.version, '2022.9.24');
  });
});

test('headers end at the first blank line; continuation lines and UNKNOWN values', () => {
  const result = readPythonDistributions([
    file(
      '/site/Foo.Bar-2.0.dist-info/METADATA',
      [
        'Metadata-Version: 2.4',
        'Name: Foo.Bar',
        'Version: 2.0',
        'License: UNKNOWN',
        'License-Expression: MIT OR Apache-2.0',
        'Author-email: Ann <ann@example.org>',
        'Summary: UNKNOWN',
        '',
        'Name: not-this',
      ].join('\n'),
    ),
    file(
      '/site/old_thing-0.1.egg-info',
      'Metadata-Version: 1.0\nName: old_thing\nVersion: 0.1\nLicense: Copyright (c) someone\n        all rights reserved\nClassifier: License :: OSI Approved :: BSD License\n',
    ),
  ]);
  assert.deepEqual(result.issues, []);
  const [foo, old] = result.packages;
  assert.equal(foo?.name, 'Foo.Bar');
  assert.equal(foo?.purl, 'pkg:pypi/foo-bar@2.0');
  assert.deepEqual(foo?.licenses, ['MIT OR Apache-2.0']);
  assert.equal(foo?.supplier, 'Ann <ann@example.org>');
  assert.equal(foo?.description, undefined);
  assert.equal(old?.purl, 'pkg:pypi/old-thing@0.1');
  // A multi-line License header is license text, not a name; the classifier names it.
  assert.deepEqual(old?.licenses, ['BSD License']);
});

test('metadata without Name or Version is an issue', () => {
  const result = readPythonDistributions([
    file('/site/x-1.dist-info/METADATA', 'Metadata-Version: 2.1\nSummary: nothing\n'),
    file('/site/y.egg-info/PKG-INFO', '\u0000\u0000\u0000'),
  ]);
  assert.equal(result.packages.length, 0);
  assert.deepEqual(
    result.issues.map((i) => [i.code, i.path]),
    [
      ['PYTHON_METADATA_INVALID', '/site/x-1.dist-info/METADATA'],
      ['PYTHON_METADATA_INVALID', '/site/y.egg-info/PKG-INFO'],
    ],
  );
});

test('PEP 503 name normalization', () => {
  assert.equal(normalizePythonName('Django_REST.framework'), 'django-rest-framework');
  assert.equal(normalizePythonName('zope..interface'), 'zope-interface');
});
