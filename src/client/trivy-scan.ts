import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack } from 'tar-stream';
import { BerthError } from '../oci/errors.js';
import type { ScanResult } from '../scan/findings-report.js';
import { runTrivy } from '../scan/trivy-report.js';
import { describeLocation, type ImageLocation } from './image-location.js';

/** Packs an OCI layout folder into an oci-archive tar (the layout's files at the archive's root). */
async function packLayout(dir: string, out: string): Promise<void> {
  const pack = tarPack();
  const writing = pipeline(pack, createWriteStream(out));
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      const name = relative(dir, full);
      if (entry.isDirectory()) {
        pack.entry({ name: `${name}/`, type: 'directory', mode: 0o755 });
        await walk(full);
      } else if (entry.isFile()) {
        const { size } = await stat(full);
        const sink = pack.entry({ name, size, mode: 0o644 });
        await pipeline(createReadStream(full), sink);
      }
    }
  };
  await walk(dir);
  pack.finalize();
  await writing;
}

/**
 * `--scanner trivy`: Trivy reads image archives (`--input`), so a docker-archive or oci-archive is handed
 * over as it is and an OCI layout folder is packed first; findings come back in Berth's result model.
 */
export async function scanWithTrivy(
  location: ImageLocation,
  options: { signal?: AbortSignal } = {},
): Promise<ScanResult> {
  let archive: string;
  let temp: string | undefined;
  if (location.transport === 'docker-archive' || location.transport === 'oci-archive')
    archive = location.path;
  else if (location.transport === 'oci') {
    temp = await mkdtemp(join(tmpdir(), 'berth-trivy-'));
    archive = join(temp, 'image.tar');
    await packLayout(location.path, archive);
  } else {
    throw new BerthError(
      'USAGE',
      `--scanner trivy reads docker-archive:, oci-archive: and oci: images; copy ${describeLocation(location)} into one first (berth copy … oci:DIR:TAG)`,
    );
  }
  try {
    const { findings, issues, report } = await runTrivy(archive, {
      extraArgs: ['--list-all-pkgs'],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const os = report.Metadata?.OS;
    return {
      image: { name: describeLocation(location), digest: '' },
      scanner: { name: 'trivy', version: 'unknown' },
      ...(os?.Family ? { os: { id: os.Family, ...(os.Name ? { versionId: os.Name } : {}) } } : {}),
      packages: (report.Results ?? []).reduce(
        (n, r) => n + ((r as { Packages?: unknown[] }).Packages?.length ?? 0),
        0,
      ),
      findings,
      issues,
    };
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}
