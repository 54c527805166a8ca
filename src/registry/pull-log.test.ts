import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../main/logger.js';
import type { PullRecord } from '../metadata/retention-store.js';
import { PullLog } from './pull-log.js';

const log = createLogger('silent');

/** A pull log whose batches land in `batches`; `failing` makes the next writes throw. */
function pullLog(maxEntries = 1000) {
  const batches: PullRecord[][] = [];
  const state = { failing: false };
  const pulls = new PullLog({
    write: async (batch) => {
      if (state.failing) throw new Error('database away');
      batches.push(batch);
    },
    // Far beyond the test: only explicit flushes, the size trigger and close write.
    flushInterval: 3_600_000,
    maxEntries,
    log,
  });
  return { pulls, batches, state };
}

test('a thousand pulls of two manifests are one write of two rows, each with its latest time', async () => {
  const { pulls, batches } = pullLog();
  for (let i = 0; i < 1000; i++) pulls.record(i % 2, 1000 - i);
  assert.equal(batches.length, 0, 'no write per pull');
  await pulls.flush();
  assert.deepEqual(batches, [
    [
      { manifestId: 0, at: 1000 },
      { manifestId: 1, at: 999 },
    ],
  ]);
  await pulls.flush();
  assert.equal(batches.length, 1, 'nothing waits, nothing is written');
  await pulls.close();
});

test('a batch is written as soon as maxEntries manifests wait; close writes the rest', async () => {
  const { pulls, batches } = pullLog(3);
  const seen: number[] = [];
  pulls.onFlush((batch) => seen.push(batch.length));
  for (const id of [1, 2, 3, 4]) pulls.record(id, id);
  await pulls.flush();
  assert.deepEqual(
    batches.map((b) => b.map((p) => p.manifestId)),
    [[1, 2, 3], [4]],
  );
  pulls.record(5, 5);
  await pulls.close();
  assert.deepEqual(batches.at(-1), [{ manifestId: 5, at: 5 }]);
  assert.deepEqual(seen, [3, 1, 1], 'the flush hook sees every batch written');
  pulls.record(6, 6);
  await pulls.flush();
  assert.equal(batches.length, 3, 'a closed log takes no more pulls');
});

test('a failed write keeps its pulls for the next flush', async () => {
  const { pulls, batches, state } = pullLog();
  pulls.record(1, 10);
  state.failing = true;
  await pulls.flush();
  pulls.record(1, 5);
  state.failing = false;
  await pulls.flush();
  assert.deepEqual(batches, [[{ manifestId: 1, at: 10 }]]);
  await pulls.close();
});
