// Two `berth serve` processes over one PostgreSQL and one S3 bucket (Ceph radosgw): an upload started on one
// node continues on the other, chunk after chunk, and the blob commits and reads on both. The session lives in
// PostgreSQL (the row) and the bucket (the bytes, parts and segments); the node that commits has no running
// hash of all the bytes, so it rehashes them from the bucket.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type BerthProcess, spawnBerth } from '../support/berth-process.js';
import { fileScope, tempDir } from '../support/temp.js';
import { requireCondition } from '../support/tool-gate.js';

const endpoint = process.env.BERTH_TEST_S3_ENDPOINT;
const postgres = process.env.BERTH_TEST_POSTGRES_URL;
const gate = requireCondition(
  !endpoint
    ? 'BERTH_TEST_S3_ENDPOINT is not set (scripts/throwaway-ceph.sh up DIR starts a Ceph radosgw)'
    : !postgres
      ? 'BERTH_TEST_POSTGRES_URL is not set (npm run test:full starts one)'
      : undefined,
);

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

describe('an upload moves between nodes on S3 and PostgreSQL', { skip: gate.skip }, () => {
  const nodes: BerthProcess[] = [];
  const database = `berth_two_nodes_${randomBytes(4).toString('hex')}`;

  before(async () => {
    gate.assertAvailable();
    const admin = new pg.Client({ connectionString: postgres });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(postgres as string);
    url.pathname = `/${database}`;
    const work = await tempDir(fileScope(), 'berth-two-nodes-');
    const config = join(work, 'berth.yaml');
    await writeFile(
      config,
      [
        'storage:',
        '  s3:',
        `    endpoint: ${endpoint}`,
        `    bucket: berth-nodes-${randomBytes(4).toString('hex')}`,
        '    forcePathStyle: true',
        'metadata:',
        '  postgres:',
        `    url: ${url}`,
        '',
      ].join('\n'),
    );
    // One after the other: the first creates the schema and the bucket.
    for (const name of ['a', 'b'])
      nodes.push(
        await spawnBerth(['--listen', '127.0.0.1:0', '--data', join(work, name), '--config', config]),
      );
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    const admin = new pg.Client({ connectionString: postgres });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  test('POST on one node, every PATCH on the other one in turn, PUT on the second, GET on both', async () => {
    const [a, b] = nodes as [BerthProcess, BerthProcess];
    const bytes = randomBytes(7 * 1024 * 1024 + 99);
    const digest = sha256(bytes);
    const started = await fetch(`${a.url}/v2/team/moves/blobs/uploads/`, { method: 'POST' });
    assert.equal(started.status, 202);
    let path = new URL(started.headers.get('location') ?? '', a.url).pathname;
    const piece = 2 * 1024 * 1024;
    let turn = 1;
    for (let offset = 0; offset < bytes.length; offset += piece, turn++) {
      const node = turn % 2 === 1 ? b : a;
      const body = bytes.subarray(offset, offset + piece);
      // Each node first answers where the upload stands, as a client resuming there would ask.
      const status = await fetch(`${node.url}${path}`);
      assert.equal(status.status, 204);
      if (offset > 0) assert.equal(status.headers.get('range'), `0-${offset - 1}`);
      const patched = await fetch(`${node.url}${path}`, {
        method: 'PATCH',
        body,
        headers: { 'Content-Range': `${offset}-${offset + body.length - 1}` },
      });
      assert.equal(patched.status, 202, await patched.text());
      path = new URL(patched.headers.get('location') ?? '', node.url).pathname;
    }
    const put = await fetch(`${b.url}${path}${path.includes('?') ? '&' : '?'}digest=${digest}`, {
      method: 'PUT',
    });
    assert.equal(put.status, 201, await put.text());
    for (const node of [a, b]) {
      const got = await fetch(`${node.url}/v2/team/moves/blobs/${digest}`);
      assert.equal(got.status, 200);
      assert.equal(sha256(Buffer.from(await got.arrayBuffer())), digest);
    }
  });
});
