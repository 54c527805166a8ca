import type { Logger } from 'pino';
import type { Clock } from '../../src/clock/clock.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/main/logger.js';
import { type RunningServer, startServer } from '../../src/main/server.js';

export interface TestServerOptions {
  data: string;
  /** Extra config by key path, e.g. `{ 'registry.deletes': false }`. */
  config?: Record<string, unknown>;
  /** The first `admin` password, with `auth.mode: token` (generated and returned in `adminPassword` when absent). */
  adminPassword?: string;
  /** The server's time (a `ManualClock` to move it); the system clock when absent. */
  clock?: Clock;
  /** Where the server logs (a `LogRecords` log to wait for a record); quiet, or BERTH_TEST_LOG, when absent. */
  log?: Logger;
}

/** A real Berth on a free loopback port, in this process, with quiet logs. */
export async function startTestServer(options: TestServerOptions): Promise<RunningServer> {
  const config = loadConfig({
    env: {},
    // Access checks have their own tests; elsewhere the registry runs with `auth: none` unless asked.
    overrides: {
      listen: '127.0.0.1:0',
      data: options.data,
      'log.level': 'silent',
      'auth.mode': 'none',
      ...options.config,
    },
  });
  return startServer(config, {
    log: options.log ?? createLogger(process.env.BERTH_TEST_LOG ?? 'silent'),
    adminPassword: options.adminPassword,
    clock: options.clock,
  });
}
