import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byteSizeOf, formatBytes, parseByteSize } from './byte-size.js';
import { BerthError } from './errors.js';

describe('byte sizes', () => {
  it('reads units in both bases and plain bytes', () => {
    assert.equal(byteSizeOf('500MiB'), 524_288_000);
    assert.equal(byteSizeOf('2GB'), 2_000_000_000);
    assert.equal(byteSizeOf('16M'), 16_000_000);
    assert.equal(byteSizeOf('1.5 gib'), 1_610_612_736);
    assert.equal(byteSizeOf('2TiB'), 2 * 1024 ** 4);
    assert.equal(byteSizeOf('1048576'), 1_048_576);
    assert.equal(byteSizeOf(4096), 4096);
    assert.equal(byteSizeOf('12 parsecs'), undefined);
    assert.equal(byteSizeOf(1.5), undefined);
    assert.equal(byteSizeOf(true), undefined);
  });

  it('takes the smallest size allowed as an option: 0 by default, 1 for limits', () => {
    assert.equal(byteSizeOf('0'), 0);
    assert.equal(byteSizeOf('0', { min: 1 }), undefined);
    assert.equal(byteSizeOf(0, { min: 1 }), undefined);
    assert.equal(byteSizeOf('1k', { min: 1 }), 1000);
  });

  it('a command-line size that does not parse is a USAGE error naming the option', () => {
    assert.equal(parseByteSize('64MiB', '--chunk-size'), 64 * 1024 ** 2);
    assert.equal(parseByteSize('0', '--chunk-size'), 0);
    assert.throws(
      () => parseByteSize('lots', '--chunk-size'),
      (error: unknown) =>
        error instanceof BerthError &&
        error.code === 'USAGE' &&
        error.message.startsWith('--chunk-size: "lots"'),
    );
  });

  it('formats in binary units', () => {
    assert.equal(formatBytes(17), '17 B');
    assert.equal(formatBytes(4096), '4.00 KiB');
    assert.equal(formatBytes(612.3 * 1024 ** 2), '612.3 MiB');
  });
});
