import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { RunningServer } from '../../src/main/server.js';
import { assertOk, type BerthEnv, berth, berthEnv, describeRun } from '../importer/importer-fixtures.js';
import { addLayoutIndex } from '../support/containers.js';
import { startTestServer } from '../support/registry-server.js';
import { layoutManifest, tarBytes, writeLayoutImage } from '../support/scan-images.js';

const OS_RELEASE = 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n';
const STATUS = 'Package: demo\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: all\n\n';

/**
 * A two-platform index whose arm64 image ships a private key: the gate must look at every platform that
 * `push --all` would send, and the scanners must read images from a registry as well as from files.
 */
describe('the gate across platforms and on registry images', () => {
  let dir: string;
  let be: BerthEnv;
  let registry: RunningServer;
  let layout: string;
  let policy: string;
  let db: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-gate-multi-'));
    be = await berthEnv(join(dir, 'env'));
    registry = await startTestServer({ data: join(dir, 'registry') });
    layout = join(dir, 'layout');
    const base = gzipSync(
      await tarBytes([
        { name: 'etc/os-release', content: OS_RELEASE },
        { name: 'var/lib/dpkg/status', content: STATUS },
      ]),
    );
    const key = gzipSync(await tarBytes([{ name: 'home/app/.ssh/id_ed25519', content: 'secret\n' }]));
    await writeLayoutImage(layout, 'amd64', [{ bytes: base }], { architecture: 'amd64' });
    await writeLayoutImage(layout, 'arm64', [{ bytes: base }, { bytes: key }], { architecture: 'arm64' });
    await addLayoutIndex(layout, 'multi', [
      { ...(await layoutManifest(layout, 'amd64')), platform: { architecture: 'amd64', os: 'linux' } },
      { ...(await layoutManifest(layout, 'arm64')), platform: { architecture: 'arm64', os: 'linux' } },
    ]);
    policy = join(dir, 'policy.yaml');
    await writeFile(policy, 'version: 1\nlayers:\n  forbiddenFiles: ["**/id_ed25519"]\n');
    db = join(dir, 'osv.sqlite');
    const record = join(dir, 'DEMO-1.json');
    await writeFile(
      record,
      JSON.stringify({
        id: 'DEMO-1',
        modified: '2026-10-01T00:00:00Z',
        summary: 'demo is affected before 1.0-2',
        affected: [
          {
            package: { ecosystem: 'Debian:12', name: 'demo' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0-2' }] }],
          },
        ],
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      }),
    );
    assertOk(await berth(be, ['db', 'import', '--db', db, record]));
  });
  after(async () => {
    await registry?.close();
    if (!process.env.BERTH_KEEP_TEMP) await rm(dir, { recursive: true, force: true });
  });

  it('push --all --policy checks every platform and refuses when one fails', async () => {
    const dest = `${registry.hostPort}/team/multi:1.0`;
    const refused = await berth(be, ['push', '--all', '--policy', policy, `oci:${layout}:multi`, dest]);
    assert.equal(refused.code, 1, describeRun(refused));
    assert.match(refused.stderr, /\(linux\/amd64\)\nPASS/);
    assert.match(refused.stderr, /\(linux\/arm64\)\nFAIL/);
    assert.match(refused.stderr, /\/home\/app\/\.ssh\/id_ed25519/);
    assert.match(refused.stderr, /^berth: .*1 failed check for linux\/arm64; nothing was pushed/m);
    assert.equal((await fetch(`${registry.url}/v2/team/multi/tags/list`)).status, 404);
    // One platform alone passes, and is pushed.
    const amd = await berth(be, [
      'push',
      '--platform',
      'linux/amd64',
      '--policy',
      policy,
      `oci:${layout}:multi`,
      dest,
    ]);
    assert.equal(amd.code, 0, describeRun(amd));
  });

  it('scan, sbom, analyze and lint read an image from the registry as from a file', async () => {
    const ref = `${registry.hostPort}/team/multi:1.0`;
    const fromRegistry = JSON.parse(
      assertOk(await berth(be, ['scan', '--json', '--db', db, ref])).stdout,
    ) as {
      findings: { id: string; packageName: string; severity: string }[];
    };
    const fromFile = JSON.parse(
      assertOk(
        await berth(be, ['scan', '--json', '--db', db, '--platform', 'linux/amd64', `oci:${layout}:multi`]),
      ).stdout,
    ) as typeof fromRegistry;
    assert.deepEqual(
      fromRegistry.findings.map((f) => [f.id, f.packageName, f.severity]),
      [['DEMO-1', 'demo', 'CRITICAL']],
    );
    assert.deepEqual(fromRegistry.findings, fromFile.findings);
    const sbom = assertOk(await berth(be, ['sbom', ref])).stdout;
    assert.match(sbom, /demo\s+1\.0-1/);
    const analysis = JSON.parse(assertOk(await berth(be, ['analyze', '--json', ref])).stdout) as {
      layers: unknown[];
      baseImage?: { name?: string };
    };
    assert.equal(analysis.layers.length, 1);
    assert.equal(analysis.baseImage?.name, 'debian:12');
    const lint = await berth(be, ['lint', '--policy', policy, ref, ref]);
    assert.equal(lint.code, 0, describeRun(lint));
  });
});
