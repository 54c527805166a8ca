// `berth import --file images.yaml`: a batch that tries every image, reports a summary table and fails at the
// end when one image failed; a fixed file succeeds; a third run uploads nothing and says so.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import type { RunningServer } from '../../src/main/server.js';
import { type ClientEnv, makeClientEnv, skopeo } from '../support/containers.js';
import { type Distribution, requireDistribution, startDistribution } from '../support/distribution.js';
import { startTestServer } from '../support/registry-server.js';
import { buildTestLayout } from '../support/source-fixtures.js';
import { tempDir } from '../support/temp.js';
import {
  assertNotTagged,
  assertOk,
  type BerthEnv,
  berth,
  berthEnv,
  describeRun,
  type ExpectedImage,
  getManifest,
  type PushReport,
  readDockerArchive,
  readLayoutExpectation,
  type TestRegistry,
  verifyWithSkopeo,
} from './importer-fixtures.js';

const gate = await requireDistribution('skopeo', 'umoci', 'tar');

interface ImportReport {
  images: (
    | (PushReport & { status: 'ok'; tags: string[] })
    | { status: 'failed'; source: string; destination: string; error: string }
  )[];
  failed: number;
  uploadedBytes: number;
}

describe('berth import --file', { skip: gate.skip }, () => {
  const cleanups: (() => unknown)[] = [];
  let work: string;
  let server: RunningServer | undefined;
  let distribution: Distribution | undefined;
  let client: ClientEnv;
  let berthReg: TestRegistry;
  let distReg: TestRegistry;
  let layout: string;
  let archive: { location: string; expected: ExpectedImage };
  let env: BerthEnv;
  let file: string;

  const entries = (third: string) => ({
    images: [
      {
        source: `oci:${layout}:v1`,
        destination: `${berthReg.hostPort}/batch/api:1.0`,
        tags: ['latest', 'stable'],
      },
      { source: archive.location, destination: `docker://${distReg.hostPort}/batch/web:1.0` },
      { source: third, destination: `docker://${distReg.hostPort}/batch/worker:1.0` },
    ],
  });

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-imp-batch-');
    [server, distribution] = await Promise.all([
      startTestServer({ data: join(work, 'berth-data') }),
      startDistribution({ dir: join(work, 'distribution') }),
    ]);
    berthReg = { name: 'berth', hostPort: server.hostPort, url: server.url };
    distReg = { name: 'distribution', hostPort: distribution.hostPort, url: distribution.url };
    client = await makeClientEnv(join(work, 'clients'), server.hostPort);
    ({ layout } = await buildTestLayout(client, join(work, 'umoci')));
    const tar = join(work, 'web.docker.tar');
    await skopeo(client, ['copy', `oci:${layout}:v2`, `docker-archive:${tar}:team/web:1.0`]);
    archive = { location: `docker-archive:${tar}`, expected: await readDockerArchive(client, tar) };
    env = await berthEnv(join(work, 'berth'));
    file = join(work, 'images.yaml');
  });

  after(async () => {
    await Promise.all([server?.close(), distribution?.stop()]);
    for (const fn of cleanups.reverse()) await fn();
  });

  test('one bad source: the others are copied, the summary says 2 ok and 1 FAILED, exit code 1', async () => {
    const missing = join(work, 'no-such-layout');
    await writeFile(file, YAML.stringify(entries(`oci:${missing}:v1`)));
    const r = await berth(env, ['import', '--file', file]);
    assert.equal(r.code, 1, describeRun(r));
    const table = r.stdout.split('\n');
    const row = (image: string) => table.find((line) => line.startsWith(image)) ?? '';
    assert.match(row(`${berthReg.hostPort}/batch/api:1.0`), /\bok\b/, describeRun(r));
    assert.match(row(`docker://${distReg.hostPort}/batch/web:1.0`), /\bok\b/, describeRun(r));
    assert.match(row(`docker://${distReg.hostPort}/batch/worker:1.0`), /\bFAILED\b/, describeRun(r));
    assert.equal(table.filter((l) => /\bok\b/.test(l)).length, 2, describeRun(r));
    assert.equal(table.filter((l) => /\bFAILED\b/.test(l)).length, 1, describeRun(r));
    assert.match(r.stdout, /2 of 3 images copied/, describeRun(r));
    // The failure is named on stderr with its cause, and the run ends with one line saying it failed.
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('berth: '));
    assert.ok(
      errors.some((l) => l.includes(missing)),
      `stderr should name the bad source:\n${describeRun(r)}`,
    );
    assert.match(errors.at(-1) ?? '', /1 of 3 images failed/, describeRun(r));

    // The good ones are in place, with their extra tags; the bad one tagged nothing.
    const api = await getManifest(berthReg, 'batch/api', '1.0');
    assert.equal(api.status, 200);
    for (const tag of ['latest', 'stable']) {
      assert.equal((await getManifest(berthReg, 'batch/api', tag)).digest, api.digest, `tag ${tag}`);
    }
    await verifyWithSkopeo(
      client,
      berthReg,
      'batch/api:stable',
      undefined,
      await readLayoutExpectation(layout, 'v1'),
      work,
    );
    await verifyWithSkopeo(client, distReg, 'batch/web:1.0', undefined, archive.expected, work);
    await assertNotTagged(distReg, 'batch/worker', '1.0');
  });

  test('the fixed file succeeds (exit 0), then a rerun uploads nothing and says so', async () => {
    await writeFile(file, YAML.stringify(entries(`oci:${layout}:v2`)));
    const fixed = assertOk(await berth(env, ['import', '--file', file]));
    assert.equal(fixed.stdout.split('\n').filter((l) => /\bFAILED\b/.test(l)).length, 0, describeRun(fixed));
    assert.match(fixed.stdout, /3 of 3 images copied/, describeRun(fixed));
    await verifyWithSkopeo(
      client,
      distReg,
      'batch/worker:1.0',
      undefined,
      await readLayoutExpectation(layout, 'v2'),
      work,
    );

    const again = assertOk(await berth(env, ['import', '--file', file]));
    assert.match(again.stdout, /nothing uploaded/, describeRun(again));
    for (const image of ['batch/api:1.0', 'batch/web:1.0', 'batch/worker:1.0']) {
      const row = again.stdout.split('\n').find((l) => l.includes(image)) ?? '';
      assert.match(row, /\bok\b.*\bnothing\b/, `row of ${image}:\n${describeRun(again)}`);
    }

    // The same with --json, from an empty cache: the registries alone show that everything is there.
    const json = assertOk(
      await berth(await berthEnv(join(work, 'berth-fresh')), ['import', '--json', '--file', file]),
    );
    const report = JSON.parse(json.stdout) as ImportReport;
    assert.equal(report.failed, 0);
    assert.equal(report.uploadedBytes, 0, json.stdout);
    assert.equal(report.images.length, 3);
    for (const image of report.images) {
      assert.equal(image.status, 'ok', json.stdout);
      if (image.status === 'ok') {
        assert.equal(image.uploadedBytes, 0);
        assert.ok(
          image.blobs.every((b) => b.action === 'exists'),
          JSON.stringify(image.blobs),
        );
      }
    }
  });
});
