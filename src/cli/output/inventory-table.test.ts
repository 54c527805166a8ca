import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InstalledPackage } from '../../scan/types.js';
import { formatInventoryTable } from './inventory-table.js';

const pkg = (name: string, version: string, extra: Partial<InstalledPackage> = {}): InstalledPackage => ({
  type: 'deb',
  name,
  version,
  purl: `pkg:deb/debian/${name}@${version}`,
  location: '/var/lib/dpkg/status',
  ...extra,
});

test('the inventory table aligns its columns and names a source package only when it differs', () => {
  const text = formatInventoryTable({
    packages: [
      pkg('libc6', '2.36-9', { sourceName: 'glibc' }),
      pkg('bash', '5.2.15-2', { sourceName: 'bash' }),
      pkg('left-pad', '1.3.0', { type: 'npm', location: '/app/node_modules/left-pad/package.json' }),
    ],
    issues: [],
  });
  assert.equal(
    text,
    [
      'TYPE  NAME      VERSION   SOURCE  LOCATION',
      'deb   libc6     2.36-9    glibc   /var/lib/dpkg/status',
      'deb   bash      5.2.15-2          /var/lib/dpkg/status',
      'npm   left-pad  1.3.0             /app/node_modules/left-pad/package.json',
      '',
    ].join('\n'),
  );
});

test('an empty inventory is the header alone', () => {
  assert.equal(formatInventoryTable({ packages: [], issues: [] }), 'TYPE  NAME  VERSION  SOURCE  LOCATION\n');
});
