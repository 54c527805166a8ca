import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  assertOneLineFailure,
  type BerthEnv,
  berth,
  berthEnv,
  describeRun,
} from '../importer/importer-fixtures.js';
import { tarBytes, writeLayoutImage } from '../support/scan-images.js';

interface Issue {
  code: string;
  message: string;
  layerIndex?: number;
  path?: string;
}

const CANARY = `berth-escape-canary-${process.pid}`;

describe('the quality gate on hostile and broken input', () => {
  let dir: string;
  let be: BerthEnv;
  let hostile: string;
  let corrupt: string;

  after(async () => {
    if (!process.env.BERTH_KEEP_TEMP) await rm(dir, { recursive: true, force: true });
  });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-gate-bad-'));
    be = await berthEnv(join(dir, 'env'));
    const base = gzipSync(
      await tarBytes([
        { name: 'etc/', type: 'directory' },
        {
          name: 'etc/os-release',
          content: 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
        },
        {
          name: 'var/lib/dpkg/status',
          content: [
            'Package: good-one',
            'Status: install ok installed',
            'Version: 1.2-3',
            'Architecture: amd64',
            'Source: good-src (1.2-2)',
            '',
            'this line is garbage in the middle of nowhere',
            'Status: install ok installed',
            'Architecture: amd64',
            '',
            'Package: second-good',
            'Status: install ok installed',
            'Version: 2.0',
            'Architecture: all',
            '',
          ].join('\n'),
        },
      ]),
    );
    const evil = gzipSync(
      await tarBytes([
        { name: '/etc/absolute-name', content: 'abs' },
        { name: `../../${CANARY}`, content: 'must never be written' },
        { name: 'usr/lib/evil-link', type: 'symlink', linkname: '../../../../../../etc/shadow' },
        { name: 'usr/bin/hard', type: 'link', linkname: 'usr/bin/missing-target' },
        { name: 'dev/evil-null', type: 'character-device' },
      ]),
    );
    hostile = await writeLayoutImage(join(dir, 'hostile'), 'v1', [{ bytes: base }, { bytes: evil }]);
    const good = gzipSync(await tarBytes([{ name: 'opt/a', content: 'a'.repeat(100_000) }]));
    const broken = Buffer.from(good);
    broken.fill(0x55, 40, 90); // inside the deflate stream: the digest is of these bytes, so only gunzip sees it
    corrupt = await writeLayoutImage(join(dir, 'corrupt'), 'v1', [{ bytes: base }, { bytes: broken }]);
  });

  it('analyze reports every hostile entry with its layer and path, and writes nothing', async () => {
    const r = await berth(be, ['analyze', '--json', hostile]);
    assert.equal(r.code, 0, describeRun(r));
    const report = JSON.parse(r.stdout) as { issues: Issue[]; layers: { files: number }[] };
    const seen = report.issues.map((i) => [i.code, i.layerIndex, i.path]);
    assert.deepEqual(
      seen.filter(([, layer]) => layer === 1),
      [
        ['PATH_ABSOLUTE', 1, '/etc/absolute-name'],
        ['PATH_TRAVERSAL', 1, `../../${CANARY}`],
        ['SYMLINK_OUTSIDE', 1, '/usr/lib/evil-link'],
        ['DEVICE_FILE', 1, '/dev/evil-null'],
        ['HARDLINK_MISSING', 1, '/usr/bin/hard'],
      ],
    );
    for (const where of [join(dir, '..', '..', CANARY), join(dir, CANARY), join(process.cwd(), '..', CANARY)])
      assert.equal(existsSync(where), false, `${where} must not exist`);
  });

  it('sbom reads the good dpkg stanzas and reports the broken one with its file', async () => {
    const r = await berth(be, ['sbom', '--format', 'json', hostile]);
    assert.equal(r.code, 0, describeRun(r));
    const inventory = JSON.parse(r.stdout) as {
      packages: { name: string; version: string; sourceName?: string }[];
      issues: Issue[];
      os?: { id: string };
    };
    assert.deepEqual(
      inventory.packages.map((p) => [p.name, p.version, p.sourceName]),
      [
        ['good-one', '1.2-3', 'good-src'],
        ['second-good', '2.0', 'second-good'],
      ],
    );
    assert.equal(inventory.os?.id, 'debian');
    const stanza = inventory.issues.find((i) => i.code === 'DPKG_STANZA_INVALID');
    assert.ok(stanza, describeRun(r));
    assert.equal(stanza.path, '/var/lib/dpkg/status');
    assert.match(r.stderr, /DPKG_STANZA_INVALID layer #1 \/var\/lib\/dpkg\/status/);
  });

  it('a corrupt gzip stream is reported with its layer; analyze exits 1 and sbom 2, without a crash', async () => {
    const analyzed = await berth(be, ['analyze', '--json', corrupt]);
    assert.equal(analyzed.code, 1, describeRun(analyzed));
    const report = JSON.parse(analyzed.stdout) as { issues: Issue[]; layers: { incomplete: boolean }[] };
    const issue = report.issues.find((i) => i.code === 'LAYER_CORRUPT');
    assert.ok(issue, describeRun(analyzed));
    assert.equal(issue.layerIndex, 1);
    assert.deepEqual(
      report.layers.map((l) => l.incomplete),
      [false, true],
    );
    const sbom = await berth(be, ['sbom', corrupt]);
    assert.equal(sbom.code, 2, describeRun(sbom));
    assert.match(sbom.stderr, /LAYER_CORRUPT layer #2/);
    assert.match(sbom.stdout, /good-one/, 'the readable layers are still listed');
  });

  it('the gate refuses an image whose layer cannot be read, even when every rule passes', async () => {
    const policy = join(dir, 'files-policy.yaml');
    await writeFile(policy, 'version: 1\nlayers:\n  forbiddenFiles: ["**/id_rsa"]\n');
    const r = await berth(be, ['lint', '--json', '--policy', policy, corrupt]);
    assert.equal(r.code, 1, describeRun(r));
    const report = JSON.parse(r.stdout) as { refused: boolean; checks: { id: string; status: string }[] };
    assert.equal(report.refused, true);
    assert.equal(report.checks.find((c) => c.id === 'layers.readable')?.status, 'fail');
  });

  it('a bad policy file and a missing advisory database are one-line errors with exit status 2', async () => {
    const policy = join(dir, 'bad-policy.yaml');
    await writeFile(policy, 'version: 1\nlabels:\n  required:\n    - key: x\n      pattern: "("\n');
    const bad = await berth(be, ['lint', '--policy', policy, hostile]);
    assert.equal(bad.code, 2, describeRun(bad));
    assertOneLineFailure(bad, /labels\.required\[0\]\.pattern/, /bad-policy\.yaml/);
    const noDb = await berth(be, ['scan', '--db', join(dir, 'nothing-here.sqlite'), hostile]);
    assert.equal(noDb.code, 2, describeRun(noDb));
    assertOneLineFailure(noDb, /no advisory database/, /berth db import/);
    assert.equal(existsSync(join(dir, 'nothing-here.sqlite')), false, 'a scan never creates the database');
  });

  it('bad flags are one-line usage errors, before any layer is read', async () => {
    const cases: [string[], RegExp, number][] = [
      [['analyze', '--top', 'many', hostile], /--top: "many" is not a whole number/, 1],
      [['scan', '--format', 'xml', hostile], /--format: expected table, json, sarif, got "xml"/, 2],
      [['scan', '--severity', 'BAD', hostile], /--severity: "BAD" is not a severity/, 2],
      [['scan', '--fail-on', 'HIGH,LOW', hostile], /--fail-on: give one severity/, 2],
      [['scan', '--scanner', 'grype', hostile], /--scanner: expected berth or trivy, got "grype"/, 2],
      [
        ['scan', '--scanner', 'trivy', '127.0.0.1:1/team/app:v1'],
        /--scanner trivy reads docker-archive:, oci-archive: and oci: images/,
        2,
      ],
      [
        ['sbom', '--format', 'spdx-xml', hostile],
        /--format: expected table, spdx-json, cyclonedx-json, json, got "spdx-xml"/,
        2,
      ],
      [
        ['lint', '--policy', join(dir, 'files-policy.yaml'), hostile, `oci:${dir}/x:v1`],
        /naming rules apply to registry references/,
        2,
      ],
    ];
    for (const [args, pattern, code] of cases) {
      const r = await berth(be, args);
      assert.equal(r.code, code, describeRun(r));
      assertOneLineFailure(r, pattern);
    }
  });

  it('a malformed OSV record is skipped and reported; the good ones are imported', async () => {
    const records = join(dir, 'records');
    await mkdir(records);
    await writeFile(join(records, 'not-json.json'), '{ this is not json');
    await writeFile(
      join(records, 'GOOD-1.json'),
      JSON.stringify({
        schema_version: '1.6.0',
        id: 'GOOD-1',
        modified: '2026-01-01T00:00:00Z',
        summary: 'a good record',
        affected: [
          {
            package: { ecosystem: 'Debian:12', name: 'good-src' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.2-5' }] }],
          },
        ],
      }),
    );
    const db = join(dir, 'osv.sqlite');
    const imported = await berth(be, ['db', 'import', '--db', db, '--json', records]);
    assert.match(imported.stdout + imported.stderr, /not-json\.json/, describeRun(imported));
    const scan = await berth(be, ['scan', '--json', '--db', db, hostile]);
    assert.equal(scan.code, 0, describeRun(scan));
    const result = JSON.parse(scan.stdout) as {
      findings: { id: string; packageName: string; fixedVersion?: string }[];
    };
    assert.deepEqual(
      result.findings.map((f) => [f.id, f.packageName, f.fixedVersion]),
      [['GOOD-1', 'good-one', '1.2-5']],
    );
  });
});
