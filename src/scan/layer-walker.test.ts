import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { tarBytes } from '../../test/support/scan-images.js';
import { requireTools } from '../../test/support/tool-gate.js';
import { ImageFilesystem } from './image-filesystem.js';
import { analyzeImage } from './layer-analysis.js';
import { type LayerScan, normalizeEntryPath, symlinkEscapesRoot, walkLayer } from './layer-walker.js';

async function walk(bytes: Buffer, index = 0, options = {}): Promise<LayerScan> {
  return walkLayer(
    Readable.from([bytes]),
    {
      index,
      digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      mediaType: 'x',
      size: bytes.length,
    },
    options,
  );
}

describe('entry paths', () => {
  it('normalizes names and refuses climbing above the root', () => {
    assert.deepEqual(normalizeEntryPath('./usr/bin/env'), { path: '/usr/bin/env', absolute: false });
    assert.deepEqual(normalizeEntryPath('/etc//passwd'), { path: '/etc/passwd', absolute: true });
    assert.deepEqual(normalizeEntryPath('usr/../etc/x'), { path: '/etc/x', absolute: false });
    assert.equal(normalizeEntryPath('../../etc/shadow'), undefined);
    assert.equal(normalizeEntryPath('a/../../b'), undefined);
  });
  it('tells symlinks that climb out of the root', () => {
    assert.equal(symlinkEscapesRoot('/usr/lib/x', '../../../../etc/passwd'), true);
    assert.equal(symlinkEscapesRoot('/usr/lib/x', '../../etc/passwd'), false);
    assert.equal(symlinkEscapesRoot('/usr/lib/x', '/etc/passwd'), false);
    assert.equal(symlinkEscapesRoot('/x', '..'), true);
  });
});

const zstd = await requireTools('zstd');

describe('walkLayer', () => {
  it('reads plain, gzip and reports sizes and entries', async () => {
    const tar = await tarBytes([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/hosts', content: '127.0.0.1 localhost\n' },
      { name: 'bin/sh', type: 'symlink', linkname: 'dash' },
    ]);
    for (const [bytes, kind] of [
      [tar, 'none'],
      [gzipSync(tar), 'gzip'],
    ] as const) {
      const scan = await walk(bytes, 0, { hashContents: true });
      assert.equal(scan.compression, kind);
      assert.equal(scan.uncompressedSize, tar.length);
      assert.equal(scan.incomplete, false);
      assert.deepEqual(
        scan.entries.map((e) => [e.path, e.type, e.size]),
        [
          ['/etc', 'dir', 0],
          ['/etc/hosts', 'file', 20],
          ['/bin/sh', 'symlink', 0],
        ],
      );
      assert.equal(scan.entries[1]?.hash, createHash('sha256').update('127.0.0.1 localhost\n').digest('hex'));
    }
  });

  it('reads zstd layers (compressed by the zstd tool)', { skip: zstd.skip }, async () => {
    const tar = await tarBytes([
      { name: 'usr/share/big.txt', content: 'line of text\n'.repeat(50_000) },
      { name: 'usr/share/small', content: 'x' },
    ]);
    const zst = execFileSync('zstd', ['-q', '-c', '-3'], { input: tar });
    const scan = await walk(zst, 0, { hashContents: true });
    assert.equal(scan.compression, 'zstd');
    assert.equal(scan.incomplete, false);
    assert.equal(scan.uncompressedSize, tar.length);
    assert.deepEqual(
      scan.entries.map((e) => [e.path, e.size]),
      [
        ['/usr/share/big.txt', 650_000],
        ['/usr/share/small', 1],
      ],
    );
  });

  it('keeps only the contents asked for, and reports files over the limit', async () => {
    const tar = await tarBytes([
      { name: 'var/lib/dpkg/status', content: 'Package: a\n' },
      { name: 'var/lib/big', content: Buffer.alloc(5000, 1) },
      { name: 'usr/share/doc/x', content: 'doc' },
    ]);
    const scan = await walk(tar, 0, {
      keepContent: (p: string) => p.startsWith('/var/lib/'),
      maxContentSize: 1000,
    });
    assert.equal(scan.entries[0]?.content?.toString(), 'Package: a\n');
    assert.equal(scan.entries[1]?.content, undefined);
    assert.equal(scan.entries[2]?.content, undefined);
    assert.deepEqual(
      scan.issues.map((i) => [i.code, i.path]),
      [['FILE_TOO_LARGE', '/var/lib/big']],
    );
  });

  it('reports hostile entries with layer and path, and never follows them', async () => {
    const tar = await tarBytes([
      { name: '/etc/absolute', content: 'a' },
      { name: '../../escape', content: 'x' },
      { name: 'usr/lib/evil', type: 'symlink', linkname: '../../../../etc/shadow' },
      { name: 'dev/null', type: 'character-device' },
      { name: 'weird', type: 'fifo' },
    ]);
    const scan = await walk(tar, 2);
    assert.deepEqual(
      scan.issues.map((i) => [i.code, i.path, i.layerIndex]),
      [
        ['PATH_ABSOLUTE', '/etc/absolute', 2],
        ['PATH_TRAVERSAL', '../../escape', 2],
        ['SYMLINK_OUTSIDE', '/usr/lib/evil', 2],
        ['DEVICE_FILE', '/dev/null', 2],
      ],
    );
    assert.deepEqual(
      scan.entries.map((e) => e.path),
      ['/etc/absolute', '/usr/lib/evil', '/dev/null', '/weird'],
    );
  });

  it('reports a corrupt gzip stream as an incomplete layer, without throwing', async () => {
    const tar = await tarBytes([{ name: 'a', content: Buffer.alloc(200_000, 7) }]);
    const gz = gzipSync(tar);
    const broken = Buffer.concat([gz.subarray(0, 100), Buffer.alloc(50, 0xaa), gz.subarray(150)]);
    const scan = await walk(broken, 1);
    assert.equal(scan.incomplete, true);
    assert.equal(scan.issues[0]?.code, 'LAYER_CORRUPT');
    assert.equal(scan.issues[0]?.layerIndex, 1);
  });

  it('reports a tar cut inside a file, but accepts one only missing its trailer (as Go does)', async () => {
    const tar = await tarBytes([
      { name: 'a', content: Buffer.alloc(1000, 1) },
      { name: 'b', content: Buffer.alloc(3000, 2) },
    ]);
    const cut = await walk(tar.subarray(0, 512 * 4), 0);
    assert.equal(cut.incomplete, true);
    assert.equal(cut.issues[0]?.code, 'LAYER_CORRUPT');
    assert.match(cut.issues[0]?.message ?? '', /after entry "b"/);
    // 512 header + 1000 data padded to 1024, then 512 header + 3000 data, no padding nor zero blocks.
    const noTrailer = await walk(tar.subarray(0, 512 + 1024 + 512 + 3000), 0);
    assert.equal(noTrailer.incomplete, false);
    assert.deepEqual(noTrailer.issues, []);
    assert.equal(noTrailer.entries.length, 2);
  });

  it('finds Go build information in executables, across chunk boundaries', async () => {
    const magic = Buffer.from('\xff Go buildinf:', 'latin1');
    const body = Buffer.concat([Buffer.alloc(70_000, 0x41), magic, Buffer.from('rest-of-buildinfo')]);
    const tar = await tarBytes([
      { name: 'app', content: body, mode: 0o755 },
      { name: 'data.bin', content: body, mode: 0o644 },
    ]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < tar.length; i += 7001) chunks.push(tar.subarray(i, i + 7001));
    const scan = await walkLayer(
      Readable.from(chunks),
      { index: 0, digest: 'sha256:0', mediaType: 'x', size: tar.length },
      { findGoBuildInfo: true },
    );
    const info = scan.entries[0]?.goBuildInfo;
    assert.ok(info);
    assert.equal(info.subarray(0, magic.length).equals(magic), true);
    assert.match(info.toString('latin1'), /rest-of-buildinfo/);
    assert.equal(scan.entries[1]?.goBuildInfo, undefined, 'not executable: not searched');
  });
});

describe('ImageFilesystem', () => {
  it('applies whiteouts and opaque folders to lower layers only, and counts the changes', async () => {
    const fs = new ImageFilesystem();
    fs.apply(
      await walk(
        await tarBytes([
          { name: 'app/', type: 'directory' },
          { name: 'app/a', content: 'aaaa' },
          { name: 'app/b', content: 'bb' },
          { name: 'cache/', type: 'directory' },
          { name: 'cache/x', content: 'x'.repeat(100) },
          { name: 'cache/sub/y', content: 'y'.repeat(50) },
          { name: 'etc/conf', content: 'v1' },
        ]),
        0,
        { hashContents: true },
      ),
    );
    const second = fs.apply(
      await walk(
        await tarBytes([
          { name: 'app/.wh.a', content: '' },
          { name: 'cache/.wh..wh..opq', content: '' },
          { name: 'cache/new', content: 'n' },
          { name: 'etc/conf', content: 'v2-longer' },
          { name: 'etc/.wh.conf', content: '' }, // same-layer whiteout: must not hide this layer's own file
        ]),
        1,
        { hashContents: true },
      ),
    );
    assert.deepEqual(
      [...fs.visible()].map((r) => r.path),
      ['/app', '/app/b', '/cache', '/cache/new', '/etc/conf'],
    );
    // The whiteout of etc/conf removes the lower copy; the layer's own etc/conf is then new again.
    assert.equal(second.removed, 4, 'app/a, cache/x, cache/sub/y, etc/conf (cache/sub was never declared)');
    assert.equal(second.removedBytes, 4 + 100 + 50 + 2);
    assert.equal(second.changed, 0);
    assert.equal(second.added, 2);
    const hidden = fs.records.filter((r) => r.removedLater).map((r) => [r.path, r.hiddenBy?.how]);
    assert.deepEqual(hidden, [
      ['/app/a', 'removed'],
      ['/cache/x', 'removed'],
      ['/cache/sub/y', 'removed'],
      ['/etc/conf', 'removed'],
    ]);
  });

  it('replaces a folder by a file, and a file by a folder', async () => {
    const fs = new ImageFilesystem();
    fs.apply(
      await walk(
        await tarBytes([
          { name: 'x/inner', content: '12345' },
          { name: 'y', content: '678' },
        ]),
        0,
      ),
    );
    const next = fs.apply(
      await walk(
        await tarBytes([
          { name: 'x', content: 'file now' },
          { name: 'y/z', content: 'under' },
        ]),
        1,
      ),
    );
    assert.deepEqual(
      [...fs.visible()].map((r) => [r.path, r.type]),
      [
        ['/x', 'file'],
        ['/y/z', 'file'],
      ],
    );
    assert.equal(next.removed, 2, 'x/inner and y');
  });

  it('reports a hard link to a missing target', async () => {
    const fs = new ImageFilesystem();
    fs.apply(
      await walk(
        await tarBytes([
          { name: 'bin/a', content: 'A' },
          { name: 'bin/ok', type: 'link', linkname: 'bin/a' },
          { name: 'bin/broken', type: 'link', linkname: 'bin/missing' },
        ]),
        0,
      ),
    );
    assert.deepEqual(
      fs.issues.map((i) => [i.code, i.path]),
      [['HARDLINK_MISSING', '/bin/broken']],
    );
  });

  it('measures waste, duplicates and efficiency', async () => {
    const fs = new ImageFilesystem();
    const big = 'B'.repeat(10_000);
    const scans = [
      await walk(
        await tarBytes([
          { name: 'opt/big', content: big },
          { name: 'opt/keep', content: 'k'.repeat(1000) },
        ]),
        0,
        { hashContents: true },
      ),
      await walk(
        await tarBytes([
          { name: 'srv/copy', content: big },
          { name: 'opt/.wh.big', content: '' },
        ]),
        1,
        { hashContents: true },
      ),
      await walk(await tarBytes([{ name: 'srv/again', content: big }]), 2, { hashContents: true }),
    ];
    for (const s of scans) fs.apply(s);
    const report = analyzeImage(fs, scans, {
      history: [
        { created_by: 'ADD rootfs', comment: '' },
        { created_by: 'COPY copy', comment: 'buildkit.dockerfile.v0' },
        { created_by: 'ENV X=1', empty_layer: true, comment: 'buildkit.dockerfile.v0' },
        { created_by: 'COPY again', comment: 'buildkit.dockerfile.v0' },
      ],
    });
    assert.equal(report.totals.shippedFileBytes, 31_000);
    assert.equal(report.totals.finalFileBytes, 21_000);
    assert.equal(report.totals.overwrittenOrRemovedBytes, 10_000);
    assert.equal(report.totals.duplicateBytes, 10_000);
    assert.equal(report.totals.wastedBytes, 20_000);
    assert.equal(report.totals.efficiency, 21_000 / 31_000);
    assert.deepEqual(
      report.wastedFiles.map((w) => [w.path, w.layers, w.how]),
      [['/opt/big', [0], ['removed']]],
    );
    assert.deepEqual(
      report.largestFiles.map((f) => f.path),
      ['/srv/again', '/srv/copy', '/opt/keep'],
    );
    assert.deepEqual(report.largestFolders[0], { path: '/srv', bytes: 20_000, files: 2 });
    assert.deepEqual(
      report.history.map((h) => h.layerIndex),
      [0, 1, null, 2],
    );
    assert.equal(report.layers[2]?.createdBy, 'COPY again');
    assert.equal(report.baseImage?.layers, 1);
  });
});
