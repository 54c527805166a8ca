import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../test/support/temp.js';
import { BerthError } from '../oci/errors.js';
import { findingsFromTrivyReport, runTrivy } from './trivy-report.js';

/** A report as `trivy image --format json` writes it (SchemaVersion 2), trimmed to a few findings. */
const REPORT = {
  SchemaVersion: 2,
  CreatedAt: '2025-03-01T12:00:00.123456789Z',
  ArtifactName: 'bookworm.tar',
  ArtifactType: 'container_image',
  Metadata: {
    Size: 123456,
    OS: { Family: 'debian', Name: '12.9' },
    ImageID: 'sha256:5b0c1d7f4b1e6c1b0d8d0a6f41f0f1c1e2b7f8f9f3f1a0c2d4e6f8a0b2c4d6e8',
    DiffIDs: ['sha256:0f7b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b'],
    RepoTags: ['example/bookworm:test'],
    ImageConfig: { architecture: 'amd64', os: 'linux' },
  },
  Results: [
    {
      Target: 'bookworm.tar (debian 12.9)',
      Class: 'os-pkgs',
      Type: 'debian',
      Vulnerabilities: [
        {
          VulnerabilityID: 'CVE-2025-0395',
          VendorIDs: ['DSA-5868-1'],
          PkgID: 'libc6@2.36-9+deb12u9',
          PkgName: 'libc6',
          PkgIdentifier: {
            PURL: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12.9',
            UID: 'a1b2c3d4e5f60718',
          },
          InstalledVersion: '2.36-9+deb12u9',
          FixedVersion: '2.36-9+deb12u10',
          Status: 'fixed',
          Layer: { DiffID: 'sha256:0f7b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b' },
          SeveritySource: 'debian',
          PrimaryURL: 'https://avd.aquasec.com/nvd/cve-2025-0395',
          DataSource: {
            ID: 'debian',
            Name: 'Debian Security Tracker',
            URL: 'https://salsa.debian.org/security-tracker-team/security-tracker',
          },
          Title: "glibc: buffer overflow in the GNU C Library's assert()",
          Description:
            'When the assert() function in the GNU C Library fails, it may not allocate enough space.',
          Severity: 'MEDIUM',
          CweIDs: ['CWE-131'],
          VendorSeverity: { debian: 2, nvd: 3, redhat: 2 },
          CVSS: {
            nvd: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', V3Score: 7.5 },
            redhat: { V3Vector: 'CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H', V3Score: 7 },
          },
          References: ['https://security-tracker.debian.org/tracker/CVE-2025-0395'],
          PublishedDate: '2025-01-22T13:15:20.123Z',
          LastModifiedDate: '2025-02-04T20:15:50.343Z',
        },
        {
          VulnerabilityID: 'CVE-2005-2541',
          PkgID: 'tar@1.34+dfsg-1.2+deb12u1',
          PkgName: 'tar',
          PkgIdentifier: {
            PURL: 'pkg:deb/debian/tar@1.34%2Bdfsg-1.2%2Bdeb12u1?arch=amd64&distro=debian-12.9',
          },
          InstalledVersion: '1.34+dfsg-1.2+deb12u1',
          Status: 'affected',
          SeveritySource: 'nvd',
          PrimaryURL: 'https://avd.aquasec.com/nvd/cve-2005-2541',
          Description:
            '\nTar 1.15.1 does not properly warn the user when extracting setuid or setgid files.\nMore.',
          Severity: 'LOW',
          CVSS: { nvd: { V2Vector: 'AV:N/AC:L/Au:N/C:C/I:C/A:C', V2Score: 10 } },
        },
      ],
    },
    {
      Target: 'Node.js',
      Class: 'lang-pkgs',
      Type: 'node-pkg',
      Vulnerabilities: [
        {
          VulnerabilityID: 'CVE-2022-25883',
          VendorIDs: ['GHSA-c2qf-rxjj-qqgw'],
          PkgName: 'semver',
          PkgPath: 'usr/local/lib/node_modules/app/node_modules/semver/package.json',
          PkgIdentifier: { PURL: 'pkg:npm/semver@7.5.0' },
          InstalledVersion: '7.5.0',
          FixedVersion: '5.7.2, 6.3.1, 7.5.2',
          Status: 'fixed',
          SeveritySource: 'ghsa',
          PrimaryURL: 'https://avd.aquasec.com/nvd/cve-2022-25883',
          Title: 'nodejs-semver: Regular expression denial of service',
          Severity: 'HIGH',
          CVSS: {
            ghsa: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L', V3Score: 5.3 },
            nvd: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', V3Score: 7.5 },
          },
        },
      ],
    },
    {
      Target: 'Python',
      Class: 'lang-pkgs',
      Type: 'python-pkg',
      Vulnerabilities: [
        {
          VulnerabilityID: 'CVE-2024-6345',
          PkgName: 'setuptools',
          PkgPath: 'usr/lib/python3/dist-packages/setuptools-65.5.0.dist-info/METADATA',
          PkgIdentifier: { PURL: 'pkg:pypi/setuptools@65.5.0' },
          InstalledVersion: '65.5.0',
          FixedVersion: '70.0.0',
          Status: 'fixed',
          SeveritySource: 'ghsa',
          PrimaryURL: 'https://avd.aquasec.com/nvd/cve-2024-6345',
          Title: 'pypa/setuptools: Remote code execution via download functions in the package_index module',
          Severity: 'HIGH',
          CVSS: {
            ghsa: {
              V3Vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:H',
              V3Score: 7.5,
              V40Vector: 'CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:A/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N',
              V40Score: 7.7,
            },
          },
        },
      ],
    },
    {
      Target: 'Java',
      Class: 'lang-pkgs',
      Type: 'jar',
      Vulnerabilities: [
        {
          VulnerabilityID: 'CVE-2024-12798',
          PkgName: 'ch.qos.logback:logback-core',
          PkgPath: 'opt/app/lib/logback-core-1.2.13.jar',
          InstalledVersion: '1.2.13',
          FixedVersion: '1.5.13, 1.3.15',
          Severity: 'MEDIUM',
        },
      ],
    },
    { Target: 'Node.js', Class: 'lang-pkgs', Type: 'node-pkg' },
    { Target: '/etc/ssl/private/site.key', Class: 'secret' },
  ],
};

describe('Trivy report mapping', () => {
  test('each vulnerability becomes a finding in Berth’s model, ordered like the built-in scanner', () => {
    const { findings, issues } = findingsFromTrivyReport(structuredClone(REPORT));
    assert.deepEqual(
      findings.map((f) => `${f.severity} ${f.packageName} ${f.id}`),
      [
        'HIGH semver CVE-2022-25883',
        'HIGH setuptools CVE-2024-6345',
        'MEDIUM libc6 CVE-2025-0395',
        'LOW tar CVE-2005-2541',
      ],
    );
    assert.deepEqual(findings[2], {
      id: 'CVE-2025-0395',
      aliases: ['DSA-5868-1'],
      packageName: 'libc6',
      packageType: 'deb',
      installedVersion: '2.36-9+deb12u9',
      fixedVersion: '2.36-9+deb12u10',
      severity: 'MEDIUM',
      score: 7.5,
      vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H',
      summary: "glibc: buffer overflow in the GNU C Library's assert()",
      purl: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12.9',
      location: 'bookworm.tar (debian 12.9)',
      ecosystem: 'Debian:12',
      url: 'https://avd.aquasec.com/nvd/cve-2025-0395',
    });
    const tar = findings[3];
    assert.equal(tar?.fixedVersion, undefined, 'affected, no fix yet');
    assert.equal(
      tar?.summary,
      'Tar 1.15.1 does not properly warn the user when extracting setuid or setgid files.',
    );
    assert.deepEqual([tar?.score, tar?.vector], [10, 'AV:N/AC:L/Au:N/C:C/I:C/A:C']);
    const semver = findings[0];
    assert.equal(semver?.fixedVersion, '7.5.2', 'the lowest listed fix above the installed version');
    assert.equal(semver?.score, 5.3, 'the severity source’s vendor first');
    assert.equal(semver?.location, '/usr/local/lib/node_modules/app/node_modules/semver/package.json');
    assert.equal(semver?.ecosystem, 'npm');
    const setuptools = findings[1];
    assert.deepEqual([setuptools?.score, setuptools?.ecosystem], [7.7, 'PyPI']);
    assert.deepEqual(issues, [
      {
        code: 'SCANNER_TYPE_UNSUPPORTED',
        message: 'trivy result type jar has no Berth package type; its findings are left out',
        path: 'Java',
      },
    ]);
  });

  test('a report that is not a Trivy v2 report is refused with a code', () => {
    for (const bad of [null, [], { SchemaVersion: 1, Results: [] }, { Results: 'x' }]) {
      assert.throws(
        () => findingsFromTrivyReport(bad),
        (e: unknown) => e instanceof BerthError && e.code === 'SCANNER_REPORT_INVALID',
      );
    }
    assert.deepEqual(findingsFromTrivyReport({ SchemaVersion: 2, ArtifactName: 'x' }), {
      findings: [],
      issues: [],
    });
  });

  test('a finding without a package name is an issue, the rest still maps', () => {
    const report = structuredClone(REPORT);
    const first = report.Results[0] as { Vulnerabilities: unknown[] };
    first.Vulnerabilities.push({ VulnerabilityID: 'CVE-0' });
    const { findings, issues } = findingsFromTrivyReport(report);
    assert.equal(findings.length, 4);
    assert.ok(issues.some((i) => i.code === 'SCANNER_FINDING_INVALID' && /PkgName/.test(i.message)));
  });
});

describe('running trivy', () => {
  test('not on PATH: SCANNER_NOT_FOUND in one line', async (t) => {
    const empty = await tempDir(t);
    await assert.rejects(runTrivy('/nowhere/image.tar', { env: { PATH: empty } }), (e: unknown) => {
      assert.ok(e instanceof BerthError && e.code === 'SCANNER_NOT_FOUND');
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  });

  test('runs `trivy image --format json --input ARCHIVE` and maps what it prints', async (t) => {
    const dir = await tempDir(t);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(dir, 'report.json'), JSON.stringify(REPORT));
    // A stand-in trivy: records its arguments and prints the report, as the real one does with --quiet.
    writeFileSync(
      join(bin, 'trivy'),
      `#!/bin/sh\nprintf '%s\\n' "$@" > '${join(dir, 'args.txt')}'\ncat '${join(dir, 'report.json')}'\n`,
    );
    chmodSync(join(bin, 'trivy'), 0o755);
    const result = await runTrivy('/images/bookworm.tar', {
      env: { PATH: `${bin}:/usr/bin:/bin` },
      extraArgs: ['--skip-db-update'],
    });
    assert.equal(result.findings.length, 4);
    assert.equal(result.report.ArtifactName, 'bookworm.tar');
    const args = readFileSync(join(dir, 'args.txt'), 'utf8').trim().split('\n');
    assert.deepEqual(args, [
      'image',
      '--format',
      'json',
      '--quiet',
      '--scanners',
      'vuln',
      '--skip-db-update',
      '--input',
      '/images/bookworm.tar',
    ]);
  });

  test('a failing trivy is SCANNER_FAILED with its last message line; garbage output is SCANNER_REPORT_INVALID', async (t) => {
    const dir = await tempDir(t);
    const failing = join(dir, 'failing');
    writeFileSync(
      failing,
      '#!/bin/sh\necho "2025-03-01T12:00:00Z\tINFO\tstarting" >&2\necho "FATAL\tunable to open archive" >&2\nexit 1\n',
    );
    chmodSync(failing, 0o755);
    await assert.rejects(
      runTrivy('/x.tar', { trivyPath: failing, env: { PATH: '/usr/bin:/bin' } }),
      (e: unknown) => {
        assert.ok(e instanceof BerthError && e.code === 'SCANNER_FAILED');
        assert.match(e.message, /code 1: FATAL\tunable to open archive$/);
        return true;
      },
    );
    const chatty = join(dir, 'chatty');
    writeFileSync(chatty, '#!/bin/sh\necho "this is not json"\n');
    chmodSync(chatty, 0o755);
    await assert.rejects(
      runTrivy('/x.tar', { trivyPath: chatty, env: { PATH: '/usr/bin:/bin' } }),
      (e: unknown) => e instanceof BerthError && e.code === 'SCANNER_REPORT_INVALID',
    );
  });
});
