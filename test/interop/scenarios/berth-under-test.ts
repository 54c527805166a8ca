// The set-up every interop file shares: a real Berth on a loopback port with a data folder of its own, and a
// client environment (vfs storage, the registry marked insecure, a trust policy) pointed at it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { RunningServer } from '../../../src/main/server.js';
import { type ClientEnv, makeClientEnv, type ToolGate } from '../../support/containers.js';
import { startTestServer } from '../../support/registry-server.js';
import { tempDir } from '../../support/temp.js';

export interface BerthUnderTest {
  server: RunningServer;
  client: ClientEnv;
  /** A folder for the test's files, removed after the suite. */
  work: string;
  /** `docker://HOST:PORT/reference`, as skopeo, podman and buildah name an image on Berth. */
  docker(reference: string): string;
}

/**
 * Starts Berth before the suite's tests (after the gate's check) and stops it after them; call it in a
 * `describe` body. The returned function gives the running set-up inside tests and hooks.
 */
export function useBerth(gate: ToolGate, prefix: string): () => BerthUnderTest {
  const cleanups: (() => unknown)[] = [];
  let berth: BerthUnderTest | undefined;
  before(async () => {
    gate.assertAvailable();
    const work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, prefix);
    const server = await startTestServer({ data: join(work, 'data') });
    cleanups.push(() => server.close());
    const client = await makeClientEnv(join(work, 'clients'), server.hostPort);
    berth = { server, client, work, docker: (reference) => `docker://${client.registry}/${reference}` };
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  return () => {
    assert.ok(berth, 'the server did not start');
    return berth;
  };
}
