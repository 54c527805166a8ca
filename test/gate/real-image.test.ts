import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { RunningServer } from '../../src/main/server.js';
import { assertOk, type BerthEnv, berth, berthEnv, describeRun } from '../importer/importer-fixtures.js';
import { makeClientEnv, requireTools, run } from '../support/containers.js';
import { startTestServer } from '../support/registry-server.js';
import { cycloneDxValidator, errorsOf, spdxValidator } from '../support/sbom-schemas.js';
import { type ScanFixtures, scanFixtures, scanFixturesGate } from '../support/scan-fixtures.js';

const execFileAsync = promisify(execFile);
const OSV_RECORDS = fileURLToPath(new URL('../fixtures/osv/records', import.meta.url));

interface Finding {
  id: string;
  packageName: string;
  packageType: string;
  installedVersion: string;
  fixedVersion?: string;
  severity: string;
}

/**
 * The whole gate on a real image: a debootstrap Debian bookworm root, then pip-installed Python
 * distributions, an npm tree and an rpm database (one umoci layer each), then a layer adding an SSH key and
 * a setuid program, then one deleting the key. Advisories are the OSV fixtures written for those packages.
 */
const gate = await requireTools('umoci', 'python3');

describe('the quality gate on a real Debian image', {
  skip: gate.skip || scanFixturesGate.skip,
}, async () => {
  let dir: string;
  let be: BerthEnv;
  let image: string;
  let db: string;
  let fixtures: ScanFixtures;

  after(async () => {
    if (dir && !process.env.BERTH_KEEP_TEMP) await rm(dir, { recursive: true, force: true });
  });

  before(async () => {
    gate.assertAvailable();
    fixtures = await scanFixtures();
    dir = await mkdtemp(join(tmpdir(), 'berth-gate-real-'));
    be = await berthEnv(join(dir, 'env'));
    const client = await makeClientEnv(join(dir, 'client'), '127.0.0.1:1');
    const layout = join(dir, 'layout');
    const tag = `${layout}:v1`;
    await run(client, 'umoci', ['init', '--layout', layout]);
    await run(client, 'umoci', ['new', '--image', tag]);
    for (const root of [fixtures.debianRoot, fixtures.pythonSite, fixtures.npmTree, fixtures.rpmRoot])
      await run(client, 'umoci', ['insert', '--image', tag, root, '/']);
    const extra = join(dir, 'extra');
    await mkdir(join(extra, 'root', '.ssh'), { recursive: true });
    await mkdir(join(extra, 'usr', 'local', 'bin'), { recursive: true });
    await writeFile(
      join(extra, 'root', '.ssh', 'id_rsa'),
      '-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n',
    );
    await writeFile(join(extra, 'usr', 'local', 'bin', 'suid-tool'), '#!/bin/sh\n');
    await chmod(join(extra, 'usr', 'local', 'bin', 'suid-tool'), 0o4755);
    await run(client, 'umoci', ['insert', '--image', tag, extra, '/']);
    await run(client, 'umoci', ['insert', '--image', tag, '--whiteout', '/root/.ssh/id_rsa']);
    await run(client, 'umoci', [
      'config',
      '--image',
      tag,
      '--architecture',
      'amd64',
      '--os',
      'linux',
      '--config.label',
      'org.opencontainers.image.created=2026-11-28T10:00:00Z',
      '--config.label',
      'org.opencontainers.image.authors=Berth Team <team@example.com>',
      '--config.label',
      'org.opencontainers.image.version=1.4.2',
      '--config.label',
      'org.opencontainers.image.source=https://git.example.com/team/app',
    ]);
    image = `oci:${tag}`;
    db = join(dir, 'osv.sqlite');
  });

  it('sbom lists Debian, Python, npm and rpm packages, as SPDX 2.3 and CycloneDX 1.5 that validate', async () => {
    const table = assertOk(await berth(be, ['sbom', image]));
    for (const row of [
      /^deb\s+libc6\s+2\.36-9\S*\s+glibc/m,
      /^pypi\s+pip\s+\S+/m,
      /^npm\s+zod\s+4\./m,
      /^rpm\s+berth-epoch-tool\s+2:1\.0\.3-4/m,
    ])
      assert.match(table.stdout, row, describeRun(table));
    const cdx = JSON.parse(
      assertOk(await berth(be, ['sbom', '--format', 'cyclonedx-json', image])).stdout,
    ) as {
      components: { purl?: string }[];
    };
    const validateCdx = cycloneDxValidator();
    assert.ok(validateCdx(cdx), errorsOf(validateCdx));
    const purls = (cdx.components as { purl?: string }[]).map((c) => c.purl ?? '');
    assert.ok(
      purls.some((p) => p.startsWith('pkg:deb/debian/libc6@2.36-9')),
      'libc6 purl',
    );
    assert.ok(purls.includes('pkg:npm/zod@4.6.7'));
    assert.ok(purls.some((p) => p.startsWith('pkg:pypi/berth-sample-tool@1.4.2')));
    const outFile = join(dir, 'sbom.spdx.json');
    assertOk(await berth(be, ['sbom', '--format', 'spdx-json', '-o', outFile, image]));
    const spdx = JSON.parse(await readFile(outFile, 'utf8'));
    assert.equal(spdx.spdxVersion, 'SPDX-2.3');
    assert.ok((spdx.packages as unknown[]).length > 140, 'every package is in the document');
    const validateSpdx = spdxValidator();
    if (typeof validateSpdx !== 'string') assert.ok(validateSpdx(spdx), errorsOf(validateSpdx));
  });

  it('db import takes a zip and a folder; db status counts the ecosystems', async () => {
    const zip = join(dir, 'osv.zip');
    const names = (await readdir(OSV_RECORDS)).map((n) => join(OSV_RECORDS, n));
    await execFileAsync('python3', ['-m', 'zipfile', '-c', zip, ...names.slice(0, 5)]);
    assertOk(await berth(be, ['db', 'import', '--db', db, zip]));
    assertOk(await berth(be, ['db', 'import', '--db', db, OSV_RECORDS]));
    const status = JSON.parse(assertOk(await berth(be, ['db', 'status', '--json', '--db', db])).stdout) as {
      records: number;
      ecosystems: { ecosystem: string; records: number }[];
    };
    assert.equal(status.records, names.length);
    const ecosystems = status.ecosystems.map((e) => e.ecosystem);
    for (const e of ['Debian:12', 'npm', 'PyPI']) assert.ok(ecosystems.includes(e), `${e} in ${ecosystems}`);
  });

  it('scan finds exactly the advisories that affect the installed versions', async () => {
    const r = await berth(be, ['scan', '--json', '--db', db, image]);
    assert.equal(r.code, 0, describeRun(r));
    const result = JSON.parse(r.stdout) as { findings: Finding[]; os: { id: string; versionId: string } };
    assert.deepEqual(result.os, {
      id: 'debian',
      versionId: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
    });
    const got = result.findings.map((f) => `${f.id} ${f.packageType}/${f.packageName}`).sort();
    assert.deepEqual(got, [
      'BERTH-TEST-DEB-0001 deb/libc-bin',
      'BERTH-TEST-DEB-0001 deb/libc6',
      'BERTH-TEST-DEB-0003 deb/zlib1g',
      'BERTH-TEST-DEB-0005 deb/debianutils',
      'BERTH-TEST-DEB-0007 deb/bash',
      'BERTH-TEST-DEB-0008 deb/tar',
      'BERTH-TEST-DEB-0010 deb/sed',
      'BERTH-TEST-NPM-0001 npm/zod',
      'BERTH-TEST-NPM-0004 npm/commander',
      'BERTH-TEST-PYPI-0001 pypi/pip',
      'BERTH-TEST-PYPI-0003 pypi/setuptools',
    ]);
    const setuptools = result.findings.find((f) => f.packageName === 'setuptools');
    assert.equal(setuptools?.fixedVersion, '65.5.1');
    const zlib = result.findings.find((f) => f.packageName === 'zlib1g');
    assert.equal(zlib?.fixedVersion, '1:1.3.dfsg-1');
    assert.equal(result.findings[0]?.severity, 'CRITICAL', 'highest severity first');
  });

  it('scan filters by severity, fails on a level, and writes SARIF', async () => {
    const critical = await berth(be, [
      'scan',
      '--json',
      '--db',
      db,
      '--severity',
      'critical',
      '--fail-on',
      'CRITICAL',
      image,
    ]);
    assert.equal(critical.code, 1, describeRun(critical));
    const findings = (JSON.parse(critical.stdout) as { findings: Finding[] }).findings;
    assert.ok(findings.length >= 2);
    assert.ok(findings.every((f) => f.severity === 'CRITICAL'));
    assert.match(critical.stderr, /at or above CRITICAL/);
    const low = await berth(be, ['scan', '--db', db, '--severity', 'LOW', '--fail-on', 'CRITICAL', image]);
    assert.equal(low.code, 0, `LOW findings only: nothing reaches CRITICAL\n${describeRun(low)}`);
    const sarif = JSON.parse(
      assertOk(await berth(be, ['scan', '--format', 'sarif', '--db', db, image])).stdout,
    );
    assert.equal(sarif.version, '2.1.0');
    const runResult = sarif.runs[0];
    assert.equal(runResult.results.length, 11);
    const ruleIds = new Set((runResult.tool.driver.rules as { id: string }[]).map((r) => r.id));
    for (const result of runResult.results as { ruleId: string; ruleIndex: number; level: string }[]) {
      assert.ok(ruleIds.has(result.ruleId));
      assert.equal(runResult.tool.driver.rules[result.ruleIndex].id, result.ruleId);
      assert.ok(['error', 'warning', 'note'].includes(result.level));
    }
  });

  it('analyze aligns the history, names the base OS, and counts the deleted key as waste', async () => {
    const r = assertOk(await berth(be, ['analyze', '--json', image]));
    const report = JSON.parse(r.stdout) as {
      layers: { added: number; removed: number; files: number }[];
      history: { layerIndex: number | null }[];
      totals: { efficiency: number; finalFiles: number; overwrittenOrRemovedBytes: number };
      wastedFiles: { path: string; how: string[] }[];
      baseImage?: { name?: string; os?: string };
      largestFiles: { path: string }[];
    };
    assert.equal(report.layers.length, 6);
    assert.deepEqual(
      report.history.map((h) => h.layerIndex),
      [0, 1, 2, 3, 4, 5, null],
    );
    assert.ok(report.layers[0] && report.layers[0].files > 3000, 'the Debian root is the first layer');
    assert.equal(report.layers[5]?.removed, 1);
    assert.deepEqual(report.wastedFiles.find((w) => w.path === '/root/.ssh/id_rsa')?.how, ['removed']);
    assert.ok(report.totals.efficiency < 1 && report.totals.efficiency > 0.99);
    assert.equal(report.baseImage?.os, 'Debian GNU/Linux 12 (bookworm)');
    assert.equal(report.baseImage?.name, 'debian:12');
    const text = assertOk(await berth(be, ['analyze', image])).stdout;
    assert.match(text, /Base image:\s+debian:12/);
    assert.match(text, /Largest files:/);
  });

  describe('the admission policy', () => {
    let registry: RunningServer;
    let policy: string;
    before(async () => {
      registry = await startTestServer({ data: join(dir, 'registry') });
      policy = join(dir, 'policy.yaml');
      await writeFile(
        policy,
        `version: 1
labels:
  required:
    - org.opencontainers.image.created
    - org.opencontainers.image.authors
    - org.opencontainers.image.version
    - org.opencontainers.image.source
naming:
  requireProject: true
  projects: [team-*, prod]
  forbiddenTags: [latest]
layers:
  maxLayers: 10
  forbiddenFiles: ["**/id_rsa", "**/.env"]
  setuid: deny
  allowedSetuid: [/usr/bin/*, /bin/*]
vulnerabilities:
  maxSeverity: HIGH
  ignore:
    - id: BERTH-TEST-DEB-0001
      reason: glibc fix is waiting for the next point release
      expires: 2099-01-01
    - id: BERTH-TEST-NPM-0001
      reason: expired exception
      expires: 2020-01-01
`,
      );
    });
    after(async () => registry?.close());

    it('lint reports the shipped key, the setuid program and the unignored critical finding', async () => {
      const r = await berth(be, [
        'lint',
        '--json',
        '--db',
        db,
        '--policy',
        policy,
        image,
        `${registry.hostPort}/team-a/app:1.4.2`,
      ]);
      assert.equal(r.code, 1, describeRun(r));
      const report = JSON.parse(r.stdout) as {
        refused: boolean;
        checks: { rule: string; status: string; message: string; items?: string[] }[];
      };
      assert.equal(report.refused, true);
      const failing = report.checks.filter((c) => c.status === 'fail');
      const text = JSON.stringify(failing);
      assert.match(text, /\/root\/\.ssh\/id_rsa/);
      assert.match(text, /removed by a later layer/);
      assert.match(text, /\/usr\/local\/bin\/suid-tool/);
      assert.match(text, /BERTH-TEST-NPM-0001/, 'an expired ignore no longer applies');
      assert.doesNotMatch(text, /BERTH-TEST-DEB-0001/, 'an ignore in force hides the finding');
      assert.ok(report.checks.some((c) => c.rule === 'vulnerabilities' && c.status === 'warn'));
      for (const rule of ['labels', 'naming'])
        assert.ok(
          report.checks.filter((c) => c.rule === rule).every((c) => c.status === 'pass'),
          `${rule} passes: ${JSON.stringify(report.checks.filter((c) => c.rule === rule))}`,
        );
    });

    it('push --policy refuses the image and pushes nothing; --warn-only pushes it', async () => {
      const dest = `${registry.hostPort}/team-a/app:1.4.2`;
      const refused = await berth(be, ['push', '--db', db, '--policy', policy, image, dest]);
      assert.equal(refused.code, 1, describeRun(refused));
      assert.match(refused.stderr, /FAIL/);
      assert.match(refused.stderr, /^berth: .*refused by policy .*nothing was pushed/m);
      const tags = await fetch(`${registry.url}/v2/team-a/app/tags/list`);
      assert.equal(tags.status, 404, 'nothing reached the registry');
      const warned = await berth(be, [
        'push',
        '--db',
        db,
        '--policy',
        policy,
        '--warn-only',
        '--json',
        image,
        dest,
      ]);
      assert.equal(warned.code, 0, describeRun(warned));
      assert.match(warned.stderr, /warn mode/);
      const listed = (await (await fetch(`${registry.url}/v2/team-a/app/tags/list`)).json()) as {
        tags: string[];
      };
      assert.deepEqual(listed.tags, ['1.4.2']);
    });
  });
});
