import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { link as hardLink, mkdir, open, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type ClientEnv,
  makeClientEnv,
  requireTools,
  writeRootfs,
} from '../../../test/support/containers.js';
import {
  expectBerthError,
  link,
  paxHeader,
  TAR_END,
  tarData,
  tarFolder,
  tarHeader,
} from '../../../test/support/source-fixtures.js';
import { tempDir } from '../../../test/support/temp.js';
import { indexTar, normalizeEntryName, type TarEntry, type TarIndex } from './tar-index.js';

const gate = await requireTools('tar');

async function dataOf(archive: string, entry: TarEntry | undefined): Promise<Buffer> {
  assert.ok(entry, 'entry not found');
  const handle = await open(archive, 'r');
  try {
    const buffer = Buffer.alloc(entry.size);
    await handle.read(buffer, 0, entry.size, entry.offset);
    return buffer;
  } finally {
    await handle.close();
  }
}

const LONG_DIR = `${'deep-folder-name-'.repeat(4)}/${'another-long-folder-'.repeat(3)}`;
const LONG_FILE = `${LONG_DIR}/${'file-with-a-long-name-'.repeat(3)}.txt`;

describe('tar index', { skip: gate.skip }, () => {
  let work: string;
  let client: ClientEnv;
  let tree: string;
  const random = randomBytes(70_000);
  const cleanups: (() => unknown)[] = [];

  before(async () => {
    gate.assertAvailable();
    work = await tempDir({ after: (fn: () => unknown) => cleanups.push(fn) }, 'berth-tar-index-');
    client = await makeClientEnv(join(work, 'env'), '127.0.0.1:1');
    tree = join(work, 'tree');
    await writeRootfs(tree, {
      'a/plain.txt': 'plain\n',
      'a/random.bin': random,
      [LONG_FILE]: 'long name\n',
      'données/été.txt': 'accents\n',
      'empty.txt': '',
    });
    await link('../a/plain.txt', join(tree, 'links/relative'));
    await link('/a/plain.txt', join(tree, 'links/absolute'));
    await link('relative', join(tree, 'links/chain'));
    await link(`../${LONG_FILE}`, join(tree, 'links/long-target'));
    await link('a', join(tree, 'folder-link'));
    await link('../../../../a/plain.txt', join(tree, 'links/escaping'));
    await link('missing.txt', join(tree, 'links/dangling'));
    await link('loop-b', join(tree, 'links/loop-a'));
    await link('loop-a', join(tree, 'links/loop-b'));
    await link('self', join(tree, 'links/self'));
    await hardLink(join(tree, 'a/random.bin'), join(tree, 'hard.bin'));
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });

  const checkTree = async (archive: string, index: TarIndex) => {
    assert.deepEqual(await dataOf(archive, index.resolve('a/plain.txt')), Buffer.from('plain\n'));
    assert.deepEqual(await dataOf(archive, index.resolve('./a/random.bin')), random);
    assert.deepEqual(await dataOf(archive, index.resolve(LONG_FILE)), Buffer.from('long name\n'));
    assert.deepEqual(await dataOf(archive, index.resolve('données/été.txt')), Buffer.from('accents\n'));
    assert.equal(index.resolve('empty.txt')?.size, 0);
    assert.equal(index.get('a')?.type, 'directory');
    assert.equal(index.get('links/relative')?.type, 'symlink');
    for (const name of [
      'links/relative',
      'links/absolute',
      'links/chain',
      '/links/chain',
      'folder-link/plain.txt',
    ]) {
      assert.deepEqual(await dataOf(archive, index.resolve(name)), Buffer.from('plain\n'), name);
    }
    assert.deepEqual(await dataOf(archive, index.resolve('links/escaping')), Buffer.from('plain\n'));
    assert.deepEqual(await dataOf(archive, index.resolve('links/long-target')), Buffer.from('long name\n'));
    // One of the two names is stored as a hard link to the other; both lead to the bytes.
    const types = [index.get('hard.bin')?.type, index.get('a/random.bin')?.type].sort();
    assert.deepEqual(types, ['file', 'hardlink']);
    assert.deepEqual(await dataOf(archive, index.resolve('hard.bin')), random);
    assert.deepEqual(await dataOf(archive, index.resolve('a/random.bin')), random);
    assert.equal(index.resolve('links/dangling'), undefined);
    assert.equal(index.resolve('no/such/file'), undefined);
    for (const loop of ['links/loop-a', 'links/self']) {
      await expectBerthError(() => index.resolve(loop), 'ARCHIVE_LINK_LOOP');
    }
  };

  for (const format of ['gnu', 'pax', 'posix'] as const) {
    test(`GNU tar --format=${format}: names, long names, links and data offsets`, async () => {
      const archive = join(work, `${format}.tar`);
      const extra = format === 'posix' ? ['--pax-option=comment=global header'] : [];
      await tarFolder(client, tree, archive, ['.'], [`--format=${format}`, ...extra]);
      const index = await indexTar(archive, 'test.tar');
      await checkTree(archive, index);
    });
  }

  test('ustar: names split into prefix and name', async () => {
    const dir = join(work, 'ustar');
    const name = `${'p'.repeat(90)}/${'q'.repeat(50)}/${'r'.repeat(90)}.txt`;
    await writeRootfs(dir, { [name]: 'prefixed\n' });
    const archive = join(work, 'ustar.tar');
    await tarFolder(client, dir, archive, [name], ['--format=ustar']);
    const index = await indexTar(archive, 'ustar.tar');
    assert.deepEqual(await dataOf(archive, index.resolve(name)), Buffer.from('prefixed\n'));
  });

  test('names are normalized and never climb above the root', () => {
    assert.equal(normalizeEntryName('./a//b/./c/'), 'a/b/c');
    assert.equal(normalizeEntryName('/../../a/../b'), 'b');
    assert.equal(normalizeEntryName('./'), '');
  });

  test('base-256 sizes (over 8 GiB) are read, and the data is never touched', async () => {
    const archive = join(work, 'huge.tar');
    const size = 9 * 1024 ** 3 + 5;
    const head = Buffer.concat([tarHeader({ name: 'huge.bin', size }), Buffer.alloc(0)]);
    await writeFile(archive, head);
    // A sparse file: the 9 GiB of data cost no disk.
    await truncate(archive, 512 + Math.ceil(size / 512) * 512);
    const tail = Buffer.concat([tarHeader({ name: 'after.txt', size: 3 }), tarData('end'), TAR_END]);
    const handle = await open(archive, 'a');
    await handle.write(tail);
    await handle.close();
    const index = await indexTar(archive, 'huge.tar');
    assert.equal(index.get('huge.bin')?.size, size);
    assert.deepEqual(await dataOf(archive, index.get('after.txt')), Buffer.from('end'));
  });

  test('a pax size overrides the header size; pax path and linkpath override the names', async () => {
    const archive = join(work, 'pax-size.tar');
    await writeFile(
      archive,
      Buffer.concat([
        paxHeader({ size: '700', path: 'from/pax.bin' }),
        tarHeader({ name: 'ignored', size: 0 }),
        tarData(Buffer.alloc(700, 7)),
        paxHeader({ linkpath: 'from/pax.bin' }),
        tarHeader({ name: 'link', type: '2', linkName: 'ignored' }),
        tarHeader({ name: 'last.txt', size: 4 }),
        tarData('last'),
        TAR_END,
      ]),
    );
    const index = await indexTar(archive, 'pax-size.tar');
    assert.deepEqual(await dataOf(archive, index.resolve('from/pax.bin')), Buffer.alloc(700, 7));
    assert.equal(index.get('link')?.linkName, 'from/pax.bin');
    assert.equal(index.resolve('link')?.name, 'from/pax.bin');
    assert.deepEqual(await dataOf(archive, index.get('last.txt')), Buffer.from('last'));
  });

  test('links and folders carry no data even when their size field says otherwise', async () => {
    const archive = join(work, 'link-size.tar');
    await writeFile(
      archive,
      Buffer.concat([
        tarHeader({ name: 'a.txt', size: 5 }),
        tarData('hello'),
        tarHeader({ name: 'h.txt', size: 5, type: '1', linkName: 'a.txt' }),
        tarHeader({ name: 'dir/', size: 5, type: '5' }),
        tarHeader({ name: 'b.txt', size: 3 }),
        tarData('bye'),
        TAR_END,
      ]),
    );
    const index = await indexTar(archive, 'link-size.tar');
    assert.deepEqual(await dataOf(archive, index.resolve('h.txt')), Buffer.from('hello'));
    assert.deepEqual(await dataOf(archive, index.resolve('b.txt')), Buffer.from('bye'));
  });

  test('an archive cut at an entry boundary (no end-of-archive blocks) is truncated; one zero block is enough', async () => {
    const archive = join(work, 'no-end.tar');
    const entry = Buffer.concat([tarHeader({ name: 'a.txt', size: 1 }), tarData('a')]);
    await writeFile(archive, entry);
    await expectBerthError(indexTar(archive, 'no-end.tar'), 'ARCHIVE_TRUNCATED');
    await writeFile(archive, Buffer.concat([entry, Buffer.alloc(512)]));
    assert.deepEqual((await indexTar(archive, 'no-end.tar')).names, ['a.txt']);
  });

  test('bad archives: not a tar, empty, truncated, corrupt headers', async () => {
    const write = async (name: string, bytes: Buffer) => {
      const path = join(work, name);
      await writeFile(path, bytes);
      return path;
    };
    await expectBerthError(indexTar(await write('random.tar', randomBytes(4096)), 'x'), 'ARCHIVE_NOT_TAR');
    await expectBerthError(indexTar(await write('text.tar', Buffer.from('hello\n')), 'x'), 'ARCHIVE_NOT_TAR');
    await expectBerthError(indexTar(await write('empty.tar', Buffer.alloc(0)), 'x'), 'ARCHIVE_NOT_TAR');
    await expectBerthError(indexTar(await write('zeros.tar', TAR_END), 'x'), 'ARCHIVE_NOT_TAR');

    const good = Buffer.concat([
      tarHeader({ name: 'one.txt', size: 2000 }),
      tarData(randomBytes(2000)),
      tarHeader({ name: 'two.txt', size: 10 }),
      tarData(randomBytes(10)),
      TAR_END,
    ]);
    // Cut inside the first entry's data, and inside the second header.
    const cutData = await expectBerthError(
      indexTar(await write('cut-data.tar', good.subarray(0, 1000)), 'cut.tar'),
      'ARCHIVE_TRUNCATED',
    );
    assert.match(cutData.message, /^cut\.tar: truncated archive/);
    await expectBerthError(
      indexTar(await write('cut-header.tar', good.subarray(0, 2560 + 100)), 'x'),
      'ARCHIVE_TRUNCATED',
    );

    const corrupt = Buffer.from(good);
    corrupt[2560 + 10] = 0x41; // inside the second header's name: its checksum no longer matches
    await expectBerthError(indexTar(await write('corrupt.tar', corrupt), 'x'), 'ARCHIVE_INVALID');

    const badPax = Buffer.concat([
      tarHeader({ name: 'p', size: 10, type: 'x' }),
      tarData('99 path=x\n'),
      TAR_END,
    ]);
    await expectBerthError(indexTar(await write('bad-pax.tar', badPax), 'x'), 'ARCHIVE_INVALID');
  });

  test('a folder of links resolving through each other in a cycle is a loop, not a hang', async () => {
    const dir = join(work, 'folder-loop');
    await mkdir(dir, { recursive: true });
    await link('b/c', join(dir, 'a'));
    await link('a/d', join(dir, 'b'));
    const archive = join(work, 'folder-loop.tar');
    await tarFolder(client, dir, archive);
    const index = await indexTar(archive, 'folder-loop.tar');
    await expectBerthError(() => index.resolve('a/x'), 'ARCHIVE_LINK_LOOP');
  });
});
