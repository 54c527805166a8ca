import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isInventoryFile, MAX_INVENTORY_FILE_SIZE } from '../../src/scan/sbom/inventory-files.js';
import type { InventoryFile, InventoryInput } from '../../src/scan/types.js';
import { requireCondition, type ToolGate } from './tool-gate.js';

/** Real filesystems the inventory tests read, built by scripts/build-scan-fixtures.sh. */
export interface ScanFixtures {
  /** A Debian bookworm minbase root made by debootstrap (with python3, six and certifi). */
  debianRoot: string;
  /** A root holding `var/lib/rpm/rpmdb.sqlite` made by Debian's rpm. */
  rpmRoot: string;
  /** A root holding `usr/lib/python3/site-packages` with pip-installed distributions. */
  pythonSite: string;
  /** A root holding `app/package-lock.json` and `app/node_modules` as npm installed them. */
  npmTree: string;
}

const script = fileURLToPath(new URL('../../scripts/build-scan-fixtures.sh', import.meta.url));
let building: Promise<ScanFixtures> | undefined;

/**
 * The folder the fixtures live in: BERTH_TEST_SCAN_FIXTURES (CI gives one; `npm run test:full` gives a
 * temporary folder when it is unset). Nothing is built unasked: without it the suites that read them skip.
 */
export function scanFixturesDir(): string | undefined {
  const dir = process.env.BERTH_TEST_SCAN_FIXTURES;
  return dir ? resolve(dir) : undefined;
}

/** `describe(name, { skip: scanFixturesGate.skip }, ...)` for suites that read the fixtures. */
export const scanFixturesGate: ToolGate = requireCondition(
  scanFixturesDir()
    ? undefined
    : 'scan fixtures not asked for (BERTH_TEST_SCAN_FIXTURES=DIR builds them there; needs root, ' +
        "debootstrap, rpm, python3 and Debian's mirror)",
);

/**
 * The fixtures, built once when a part is missing. The script holds a lock on the folder, so test files
 * running in parallel wait for one build instead of making their own.
 */
export function scanFixtures(): Promise<ScanFixtures> {
  building ??= build().catch((err: unknown) => {
    building = undefined;
    throw err;
  });
  return building;
}

async function build(): Promise<ScanFixtures> {
  scanFixturesGate.assertAvailable();
  const dir = scanFixturesDir();
  if (!dir) throw new Error('BERTH_TEST_SCAN_FIXTURES is not set');
  const fixtures: ScanFixtures = {
    debianRoot: join(dir, 'debian-rootfs'),
    rpmRoot: join(dir, 'rpm-root'),
    pythonSite: join(dir, 'python-site'),
    npmTree: join(dir, 'npm-tree'),
  };
  if (Object.values(fixtures).every((p) => existsSync(p))) return fixtures;
  const { code, output } = await run('bash', [script, dir]);
  if (code !== 0) {
    throw new Error(
      `building the scan fixtures in ${dir} failed (exit ${code}); it needs root, debootstrap, rpm, ` +
        `python3 with pip, npm and Debian's mirror. Run: bash scripts/build-scan-fixtures.sh ${dir}\n` +
        output.slice(-4000),
    );
  }
  for (const path of Object.values(fixtures)) {
    if (!existsSync(path)) throw new Error(`scan fixture ${path} is missing after the build`);
  }
  return fixtures;
}

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

export interface DirInputOptions {
  layerIndex?: number;
  layerDigest?: string;
}

/**
 * An InventoryInput from a real folder standing for an image's final filesystem: every regular file that
 * isInventoryFile wants, by its absolute path inside the folder. A symlink is followed only when its
 * target stays inside the folder (Debian's /etc/os-release points to ../usr/lib/os-release).
 */
export async function inventoryInputFromDir(
  root: string,
  options: DirInputOptions = {},
): Promise<InventoryInput> {
  const base = await realpath(root);
  const layerIndex = options.layerIndex ?? 0;
  const layerDigest = options.layerDigest ?? `sha256:${'0'.repeat(64)}`;
  const files = new Map<string, InventoryFile>();
  const keep = async (imagePath: string, hostPath: string): Promise<void> => {
    const info = await stat(hostPath);
    if (!info.isFile() || info.size > MAX_INVENTORY_FILE_SIZE) return;
    files.set(imagePath, { path: imagePath, content: await readFile(hostPath), layerIndex, layerDigest });
  };
  const walk = async (hostDir: string, imageDir: string): Promise<void> => {
    const entries = await readdir(hostDir, { withFileTypes: true });
    for (const entry of entries) {
      const hostPath = join(hostDir, entry.name);
      const imagePath = `${imageDir}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(hostPath, imagePath);
      } else if (entry.isFile()) {
        if (isInventoryFile(imagePath)) await keep(imagePath, hostPath);
      } else if (entry.isSymbolicLink() && isInventoryFile(imagePath)) {
        const target = await realpath(hostPath).catch(() => undefined);
        if (target?.startsWith(`${base}/`) && (await lstat(target)).isFile()) await keep(imagePath, target);
      }
    }
  };
  await walk(base, '');
  return { files, goBinaries: [] };
}
