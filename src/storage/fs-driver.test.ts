import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { blobStoreSuite } from './blob-store.test-suite.js';
import { FsDriver } from './fs-driver.js';

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

blobStoreSuite('the filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-fs-'));
  roots.push(root);
  return { driver: () => new FsDriver(root) };
});
