import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { createLogger } from '../../src/main/logger.js';

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/**
 * A logger that keeps what it is told, for a test that checks that something did NOT happen: it waits for
 * the record proving the server got past that point (a cut request handled, a job finished), never for a
 * fixed time.
 */
export class LogRecords {
  readonly records: LogRecord[] = [];
  readonly log: Logger;
  readonly #written = new EventEmitter();

  constructor(level = 'info') {
    this.log = createLogger(level, {
      format: 'json',
      out: {
        write: (line: string) => {
          const record = JSON.parse(line) as LogRecord;
          this.records.push(record);
          this.#written.emit('record', record);
        },
      },
    });
  }

  /**
   * The first record, written already or to come, that `match` accepts. `timeoutMs` only bounds a test
   * whose record never comes (it then fails naming `what`); a passing test never waits it out.
   */
  waitFor(match: (record: LogRecord) => boolean, what: string, timeoutMs = 15_000): Promise<LogRecord> {
    const seen = this.records.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onRecord = (record: LogRecord): void => {
        if (!match(record)) return;
        clearTimeout(timer);
        this.#written.off('record', onRecord);
        resolve(record);
      };
      const timer = setTimeout(() => {
        this.#written.off('record', onRecord);
        reject(new Error(`no log record: ${what} (within ${timeoutMs} ms)`));
      }, timeoutMs);
      this.#written.on('record', onRecord);
    });
  }
}
