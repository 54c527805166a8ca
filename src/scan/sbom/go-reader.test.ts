import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../test/support/temp.js';
import { requireTools } from '../../../test/support/tool-gate.js';
import type { GoBinaryInfo } from '../types.js';
import { GO_BUILDINFO_MAGIC, parseGoBuildInfo, readGoBinary } from './go-reader.js';

// cmd/go frames the module text with these two 16-byte sentinels (modload's infoStart and infoEnd).
const INFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const INFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

function uvarint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** The blob as the Go ≥1.18 linker lays it out: 32-byte header, then two varint-prefixed strings. */
function buildInfoBlob(goVersion: string, modInfo: string, flags = 2): Buffer {
  const header = Buffer.alloc(32);
  GO_BUILDINFO_MAGIC.copy(header, 0);
  header[14] = 8; // pointer size
  header[15] = flags;
  const mod = Buffer.concat([INFO_START, Buffer.from(modInfo), INFO_END]);
  const version = Buffer.from(goVersion);
  // The walker hands over what follows the magic too: other data of the binary.
  return Buffer.concat([
    header,
    uvarint(version.length),
    version,
    uvarint(mod.length),
    mod,
    Buffer.alloc(300, 0xcc),
  ]);
}

const MOD_INFO = [
  'path\texample.com/tool',
  'mod\texample.com/tool\t(devel)\t',
  'dep\tgithub.com/spf13/cobra\tv1.8.0\th1:7aJaZx1B85qltLMc546zn58BxxfZdR/W22ej9CFoEf0=',
  'dep\tgolang.org/x/net\tv0.20.0\th1:aCL9BSgETF1k+blQaYUBx9hJ9LOGP3gAVemcZlf1Kpo=',
  '=>\tgolang.org/x/net\tv0.23.0\th1:7EYJ93RZ9vYSZAIb2x3lnuvqO5zneoD6IvWjuhfxjTs=',
  'dep\tgithub.com/local/thing\tv0.0.0-00010101000000-000000000000\t',
  '=>\t../thing\t\t',
  'build\t-compiler=gc',
  'build\tCGO_ENABLED=0',
  '',
].join('\n');

function info(modInfo: string, goVersion = 'go1.22.5'): GoBinaryInfo {
  return { path: '/usr/local/bin/tool', layerIndex: 4, layerDigest: 'sha256:go', goVersion, modInfo };
}

test('parseGoBuildInfo reads the inline Go 1.18+ layout and strips the sentinels', () => {
  const parsed = parseGoBuildInfo(buildInfoBlob('go1.22.5', MOD_INFO));
  assert.deepEqual(parsed, { goVersion: 'go1.22.5', modInfo: MOD_INFO });
  // Big-endian targets set bit 0 as well; the inline strings read the same.
  assert.equal(parseGoBuildInfo(buildInfoBlob('go1.21.0', MOD_INFO, 3))?.goVersion, 'go1.21.0');
  // A module string without sentinels (a binary built outside module mode) gives no module text.
  const header = buildInfoBlob('go1.22.5', '').subarray(0, 32 + 1 + 8);
  const unframed = Buffer.concat([header, uvarint(5), Buffer.from('path\t')]);
  assert.deepEqual(parseGoBuildInfo(unframed), { goVersion: 'go1.22.5', modInfo: '' });
});

test('parseGoBuildInfo rejects other bytes without throwing', () => {
  const blob = buildInfoBlob('go1.22.5', MOD_INFO);
  assert.equal(parseGoBuildInfo(Buffer.from('not a go binary at all, not at all, no')), undefined);
  // The pre-1.18 layout holds pointers the walker cannot follow.
  assert.equal(parseGoBuildInfo(buildInfoBlob('go1.17', MOD_INFO, 0)), undefined);
  for (let size = 0; size < 120; size++) {
    const parsed = parseGoBuildInfo(blob.subarray(0, size));
    assert.ok(parsed === undefined || parsed.modInfo === '', `cut at ${size}`);
  }
  const hugeLength = Buffer.concat([blob.subarray(0, 32), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])]);
  assert.equal(parseGoBuildInfo(hugeLength), undefined);
});

test('readGoBinary: deps, replacements, no (devel) main module, stdlib at the Go version', () => {
  const result = readGoBinary(info(MOD_INFO));
  assert.deepEqual(
    result.packages.map((p) => [p.name, p.version, p.purl]),
    [
      ['github.com/spf13/cobra', 'v1.8.0', 'pkg:golang/github.com/spf13/cobra@v1.8.0'],
      ['golang.org/x/net', 'v0.23.0', 'pkg:golang/golang.org/x/net@v0.23.0'],
      [
        'github.com/local/thing',
        'v0.0.0-00010101000000-000000000000',
        'pkg:golang/github.com/local/thing@v0.0.0-00010101000000-000000000000',
      ],
      ['stdlib', 'v1.22.5', 'pkg:golang/stdlib@v1.22.5'],
    ],
  );
  assert.ok(result.packages.every((p) => p.location === '/usr/local/bin/tool' && p.layerIndex === 4));
  const released = readGoBinary(info('path\texample.com/tool\nmod\texample.com/tool\tv2.1.0\th1:x=\n'));
  assert.deepEqual(
    released.packages.map((p) => p.name),
    ['example.com/tool', 'stdlib'],
  );
  assert.deepEqual(readGoBinary(info('garbage\n\t\t\n=>\tx\n', 'devel +abc')).packages, []);
});

const goGate = await requireTools('go');

test('a binary built by the go toolchain, when go is installed', { skip: goGate.skip }, async (t) => {
  goGate.assertAvailable();
  const dir = await tempDir(t);
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src', 'go.mod'), 'module example.com/berthprobe\n\ngo 1.18\n');
  await writeFile(join(dir, 'src', 'main.go'), 'package main\n\nfunc main() { println("hi") }\n');
  execFileSync('go', ['build', '-o', join(dir, 'probe'), '.'], {
    cwd: join(dir, 'src'),
    env: { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOCACHE: join(dir, 'cache'), HOME: dir },
  });
  const binary = await readFile(join(dir, 'probe'));
  const at = binary.indexOf(GO_BUILDINFO_MAGIC);
  assert.ok(at >= 0, 'the build info magic is in the binary');
  const parsed = parseGoBuildInfo(binary.subarray(at, at + 64 * 1024));
  const goVersion = execFileSync('go', ['env', 'GOVERSION']).toString().trim();
  assert.equal(parsed?.goVersion, goVersion);
  assert.match(
    parsed?.modInfo ?? '',
    /^path\texample\.com\/berthprobe\nmod\texample\.com\/berthprobe\t\(devel\)/,
  );
});
