import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
import { requireTools } from '../support/tool-gate.js';

/**
 * Trivy is not packaged for Debian, so `--scanner trivy` is checked against a stand-in on PATH that does
 * what the real one does with `--input`: reads the archive it is given (here: proves it is a tar holding an
 * OCI layout) and prints a report in Trivy's documented JSON format (SchemaVersion 2).
 */
// The stand-in lists the archive with tar.
const tar = await requireTools('tar');

describe('berth scan --scanner trivy', { skip: tar.skip }, () => {
  let dir: string;
  let be: BerthEnv;
  let image: string;
  let bin: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-trivy-'));
    bin = join(dir, 'bin');
    await mkdir(bin);
    be = await berthEnv(join(dir, 'env'));
    image = await writeLayoutImage(join(dir, 'layout'), 'v1', [
      { bytes: gzipSync(await tarBytes([{ name: 'etc/hostname', content: 'x\n' }])) },
    ]);
    const report = {
      SchemaVersion: 2,
      ArtifactName: 'image.tar',
      ArtifactType: 'container_image',
      Metadata: { OS: { Family: 'debian', Name: '12.9' } },
      Results: [
        {
          Target: 'image.tar (debian 12.9)',
          Class: 'os-pkgs',
          Type: 'debian',
          Packages: [{ Name: 'libc6' }, { Name: 'tar' }, { Name: 'bash' }],
          Vulnerabilities: [
            {
              VulnerabilityID: 'CVE-2025-0395',
              PkgName: 'libc6',
              PkgIdentifier: { PURL: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u9?arch=amd64&distro=debian-12.9' },
              InstalledVersion: '2.36-9+deb12u9',
              FixedVersion: '2.36-9+deb12u10',
              Severity: 'HIGH',
              Title: 'glibc: buffer overflow in assert()',
              PrimaryURL: 'https://avd.aquasec.com/nvd/cve-2025-0395',
              CVSS: { nvd: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', V3Score: 7.5 } },
            },
          ],
        },
      ],
    };
    await writeFile(join(dir, 'report.json'), JSON.stringify(report));
    // Records its arguments, checks the --input archive is a tar with an OCI layout, prints the report.
    await writeFile(
      join(bin, 'trivy'),
      `#!/bin/sh
printf '%s\\n' "$@" > "${join(dir, 'args')}"
while [ $# -gt 0 ]; do [ "$1" = --input ] && input=$2; shift; done
tar -tf "$input" | grep -qx 'oci-layout' || { echo "not an OCI archive: $input" >&2; exit 1; }
cat "${join(dir, 'report.json')}"
`,
    );
    await chmod(join(bin, 'trivy'), 0o755);
  });
  after(async () => {
    if (!process.env.BERTH_KEEP_TEMP) await rm(dir, { recursive: true, force: true });
  });

  it('hands trivy an archive of the image and maps its report into the same result model', async () => {
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const r = await berth(be, ['scan', '--scanner', 'trivy', '--json', '--fail-on', 'HIGH', image], { env });
    assert.equal(r.code, 1, describeRun(r));
    const result = JSON.parse(r.stdout) as {
      scanner: { name: string };
      packages: number;
      findings: {
        id: string;
        packageName: string;
        fixedVersion?: string;
        severity: string;
        score?: number;
      }[];
    };
    assert.equal(result.scanner.name, 'trivy');
    assert.equal(result.packages, 3);
    assert.deepEqual(
      result.findings.map((f) => [f.id, f.packageName, f.fixedVersion, f.severity, f.score]),
      [['CVE-2025-0395', 'libc6', '2.36-9+deb12u10', 'HIGH', 7.5]],
    );
    const args = (await readFile(join(dir, 'args'), 'utf8')).split('\n');
    assert.ok(args.includes('--format') && args.includes('json') && args.includes('--input'), args.join(' '));
    const sarif = await berth(be, ['scan', '--scanner', 'trivy', '--format', 'sarif', image], { env });
    assert.equal(sarif.code, 0, describeRun(sarif));
    assert.equal(JSON.parse(sarif.stdout).runs[0].results[0].ruleId, 'CVE-2025-0395');
  });

  it('without trivy on PATH it is a one-line error with exit status 2', async () => {
    const r = await berth(be, ['scan', '--scanner', 'trivy', image], { env: { PATH: '/usr/bin:/bin' } });
    assert.equal(r.code, 2, describeRun(r));
    assertOneLineFailure(r, /trivy is not on PATH/);
  });
});
