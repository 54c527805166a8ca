import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  cdxSchemaDir,
  cycloneDxValidator,
  errorsOf,
  readJson,
  spdxValidator,
} from '../../../test/support/sbom-schemas.js';
import {
  inventoryInputFromDir,
  scanFixtures,
  scanFixturesGate,
} from '../../../test/support/scan-fixtures.js';
// The terminal table moved to the CLI; its case stays here, beside the inventory fixture.
import { formatInventoryTable } from '../../cli/output/inventory-table.js';
import type { Inventory, InventoryFile } from '../types.js';
import { KNOWN_EXCEPTION_IDS, KNOWN_LICENSE_IDS, toSpdxExpression } from './license-expression.js';
import { readInventory } from './read-inventory.js';
import { spdxId, spdxSupplier, toCycloneDxJson, toSpdxJson } from './sbom-document.js';

const image = {
  name: 'registry.example:5000/team/app:1.2',
  digest: `sha256:${'ab'.repeat(32)}`,
  created: new Date('2024-06-01T12:34:56.789Z'),
  toolVersion: '0.1.0',
};

/** Extra packages whose licenses and suppliers need the writers' care. */
function awkwardFiles(): InventoryFile[] {
  const file = (path: string, text: string): InventoryFile => ({
    path,
    content: Buffer.from(text),
    layerIndex: 5,
    layerDigest: `sha256:${'cd'.repeat(32)}`,
  });
  return [
    file(
      '/lib/apk/db/installed',
      'P:busybox\nV:1.36.1-r29\nA:x86_64\nL:GPL-2.0-only\no:busybox\nm:Sören Tempel <soeren+alpine@soeren-tempel.net>\n\n' +
        'P:weird\nV:1\nL:Custom License (see COPYING) & "other"\n\n' +
        'P:dual\nV:2\nL:MIT OR (Apache-2.0 AND BSD-3-Clause)\n\n',
    ),
    file(
      '/opt/x/node_modules/@acme/lib/package.json',
      '{"name":"@acme/lib","version":"1.0.0","license":"SEE LICENSE IN LICENSE.txt"}',
    ),
    file('/opt/x/node_modules/pd/package.json', '{"name":"pd","version":"1.0.0","license":"Public Domain"}'),
  ];
}

describe('SBOM documents for the full real inventory', { skip: scanFixturesGate.skip }, () => {
  let inventory: Inventory;
  before(async () => {
    const fixtures = await scanFixtures();
    const files = new Map<string, InventoryFile>();
    for (const root of [fixtures.debianRoot, fixtures.rpmRoot, fixtures.pythonSite, fixtures.npmTree]) {
      for (const [path, file] of (await inventoryInputFromDir(root)).files) files.set(path, file);
    }
    for (const file of awkwardFiles()) files.set(file.path, file);
    inventory = readInventory({
      files,
      goBinaries: [
        {
          path: '/usr/local/bin/tool',
          layerIndex: 6,
          layerDigest: `sha256:${'ef'.repeat(32)}`,
          goVersion: 'go1.22.5',
          modInfo:
            'path\texample.com/tool\nmod\texample.com/tool\t(devel)\t\ndep\tgithub.com/spf13/cobra\tv1.8.0\th1:x=\n',
        },
      ],
    });
    const types = new Set(inventory.packages.map((p) => p.type));
    assert.deepEqual([...types].sort(), ['apk', 'deb', 'golang', 'npm', 'pypi', 'rpm']);
  });

  test('CycloneDX 1.5 validates against its published schema', () => {
    const bom = toCycloneDxJson(inventory, image) as Record<string, unknown>;
    const validate = cycloneDxValidator();
    assert.ok(validate(bom), errorsOf(validate));
    // The validator does reject: an unlisted id where only listed ids may stand.
    const broken = structuredClone(bom) as { components: { licenses?: unknown }[] };
    (broken.components[1] as { licenses?: unknown }).licenses = [{ license: { id: 'Not-A-License' } }];
    assert.equal(validate(broken), false);
    assert.equal(bom.specVersion, '1.5');
    assert.match(String(bom.serialNumber), /^urn:uuid:[0-9a-f-]{36}$/);
    const components = bom.components as Record<string, unknown>[];
    assert.equal(components.length, inventory.packages.length + 1);
    assert.equal(components[0]?.type, 'operating-system');
    assert.equal(components[0]?.name, 'debian');
    const refs = components.map((c) => c['bom-ref']);
    assert.equal(new Set(refs).size, refs.length, 'bom-refs are unique');
    const libc = components.find((c) => c.name === 'libc6') as
      | { version: string; properties: { name: string; value: string }[] }
      | undefined;
    assert.ok(libc);
    assert.equal(libc.properties.find((p) => p.name === 'berth:source')?.value, `glibc@${libc.version}`);
    const byName = (name: string) => components.find((c) => c.name === name)?.licenses;
    assert.deepEqual(byName('busybox'), [{ license: { id: 'GPL-2.0-only' } }]);
    assert.deepEqual(byName('dual'), [{ expression: 'MIT OR (Apache-2.0 AND BSD-3-Clause)' }]);
    assert.deepEqual(byName('weird'), [{ license: { name: 'Custom License (see COPYING) & "other"' } }]);
    assert.deepEqual(byName('berth-suite'), [{ license: { id: 'GPL-2.0-or-later' } }]);
    const metadata = bom.metadata as Record<string, Record<string, unknown>>;
    assert.equal(metadata.component?.type, 'container');
    assert.equal(metadata.timestamp, '2024-06-01T12:34:56.789Z');
  });

  test('SPDX 2.3 validates against its published schema', (t) => {
    const document = toSpdxJson(inventory, image) as Record<string, unknown>;
    const validate = spdxValidator();
    if (typeof validate === 'string') {
      t.skip(validate);
    } else {
      assert.ok(validate(document), errorsOf(validate));
      assert.equal(validate({ ...document, dataLicense: undefined, SPDXID: 7 }), false);
    }
    assert.equal(document.spdxVersion, 'SPDX-2.3');
    assert.equal(document.dataLicense, 'CC0-1.0');
    assert.match(String(document.documentNamespace), new RegExp(`${image.digest}/[0-9a-f-]{36}$`));
    assert.deepEqual(document.creationInfo, {
      created: '2024-06-01T12:34:56Z',
      creators: ['Tool: berth-0.1.0'],
    });
    const packages = document.packages as Record<string, unknown>[];
    assert.equal(packages[0]?.primaryPackagePurpose, 'CONTAINER');
    const ids = packages.map((p) => String(p.SPDXID));
    assert.equal(new Set(ids).size, ids.length, 'SPDXIDs are unique');
    for (const id of ids) assert.match(id, /^SPDXRef-[A-Za-z0-9.-]+$/);
    // Every license field is NOASSERTION or an expression this module accepts; every LicenseRef is defined.
    const defined = new Set(
      ((document.hasExtractedLicensingInfos ?? []) as { licenseId: string }[]).map((l) => l.licenseId),
    );
    for (const p of packages) {
      for (const field of ['licenseConcluded', 'licenseDeclared']) {
        const value = String(p[field]);
        if (value === 'NOASSERTION') continue;
        assert.equal(toSpdxExpression(value), value, `${p.name}: ${value}`);
        for (const ref of value.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) assert.ok(defined.has(ref), ref);
      }
      assert.match(String(p.supplier), /^(NOASSERTION|Person: .+|Organization: .+)$/);
    }
    const declared = (name: string) => packages.find((p) => p.name === name)?.licenseDeclared;
    assert.equal(declared('berth-tilde-lib'), 'Apache-2.0 OR MIT');
    assert.equal(declared('weird'), 'LicenseRef-Custom-License-see-COPYING-other');
    assert.equal(declared('libc6'), 'NOASSERTION');
    assert.equal(declared('pd'), 'LicenseRef-Public-Domain');
    const relationships = document.relationships as { relationshipType: string }[];
    assert.equal(relationships.filter((r) => r.relationshipType === 'DESCRIBES').length, 1);
    assert.equal(relationships.filter((r) => r.relationshipType === 'CONTAINS').length, packages.length - 1);
    const libc = packages.find((p) => p.name === 'libc6');
    assert.deepEqual(libc?.externalRefs, [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: inventory.packages.find((p) => p.name === 'libc6')?.purl,
      },
    ]);
  });

  test('the terminal table aligns its columns', () => {
    const table = formatInventoryTable(inventory);
    const lines = table.trimEnd().split('\n');
    assert.equal(lines.length, inventory.packages.length + 1);
    assert.match(lines[0] ?? '', /^TYPE +NAME +VERSION +SOURCE +LOCATION$/);
    const column = (lines[0] ?? '').indexOf('VERSION');
    const libc = lines.find((l) => l.startsWith('deb ') && l.includes(' libc6 '));
    assert.ok(libc);
    assert.equal(libc.indexOf('2.36-9'), column);
    assert.match(libc, / glibc +\/var\/lib\/dpkg\/status$/);
  });
});

test('SPDX expressions: listed ids, operators, exceptions, aliases; anything else is refused', () => {
  assert.equal(toSpdxExpression('mit'), 'MIT');
  assert.equal(toSpdxExpression('GPLv2+'), 'GPL-2.0-or-later');
  assert.equal(
    toSpdxExpression('(MIT or apache-2.0) AND BSD-2-Clause'),
    '(MIT OR Apache-2.0) AND BSD-2-Clause',
  );
  assert.equal(
    toSpdxExpression('GPL-2.0-only WITH Classpath-exception-2.0'),
    'GPL-2.0-only WITH Classpath-exception-2.0',
  );
  assert.equal(toSpdxExpression('LGPL-2.1+'), 'LGPL-2.1+');
  for (const bad of ['', 'MIT AND', '(MIT', 'MIT)', 'BSD', 'SEE LICENSE IN x', 'MIT WITH Nonsense', 'A B']) {
    assert.equal(toSpdxExpression(bad), undefined, bad);
  }
});

test('every id the writers treat as listed is in the SPDX license list CycloneDX ships', () => {
  const list = new Set((readJson(`${cdxSchemaDir}spdx.SNAPSHOT.schema.json`).enum as string[]) ?? []);
  for (const id of KNOWN_LICENSE_IDS) assert.ok(list.has(id), id);
  for (const id of KNOWN_EXCEPTION_IDS) assert.ok(list.has(id), id);
});

test('suppliers and SPDX ids', () => {
  assert.equal(
    spdxSupplier('GNU Libc Maintainers <debian-glibc@lists.debian.org>'),
    'Organization: GNU Libc Maintainers (debian-glibc@lists.debian.org)',
  );
  assert.equal(
    spdxSupplier('Santiago Vila <sanvila@debian.org>'),
    'Person: Santiago Vila (sanvila@debian.org)',
  );
  assert.equal(spdxSupplier(undefined), 'NOASSERTION');
  assert.equal(
    spdxId('Package', 'npm', '@peculiar/x509', '2.2.0'),
    'SPDXRef-Package-npm-peculiar-x509-2.2.0',
  );
  assert.equal(
    spdxId('Package', 'deb', 'libstdc++6', '1:12.2.0~rc1'),
    'SPDXRef-Package-deb-libstdc-6-1-12.2.0-rc1',
  );
});
