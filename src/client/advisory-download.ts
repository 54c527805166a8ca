import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeAtomically } from '../files/atomic-write.js';
import { BerthError } from '../oci/errors.js';
import { isLoopbackHost } from '../oci/reference.js';
import { openAdvisoryDb } from '../scan/osv/advisory-db.js';
import {
  type AdvisoryImportResult,
  emptyImportResult,
  importAdvisories,
} from '../scan/osv/advisory-import.js';
import { knownEcosystems } from '../scan/versions/ecosystem-version.js';
import { header, type Transport, type TransportResponse } from './transport/transport.js';

/**
 * `berth db update`: downloads OSV's per-ecosystem archives (`<mirror>/<Ecosystem>/all.zip`, the layout of
 * OSV's export bucket) into a partial file beside the database, resumes a cut download with a Range request,
 * checks the bucket's MD5 (`x-goog-hash`) when it sends one, and only then imports the whole archive in one
 * transaction. A failure leaves the database as it was.
 */

// The largest OSV archives are a few hundred MB; a server sending far more is not an OSV mirror.
const MAX_ARCHIVE_BYTES = 4 * 1024 ** 3;
// Each attempt must move the download forward; a connection that breaks again and again is given up on.
const MAX_ATTEMPTS = 5;

export type AdvisoryDownloadEvent =
  | { phase: 'download'; ecosystem: string; received: number; total?: number | undefined; resumedAt: number }
  | { phase: 'verify'; ecosystem: string }
  | { phase: 'import'; ecosystem: string; records: number };

export interface EcosystemUpdate extends AdvisoryImportResult {
  ecosystem: string;
  url: string;
  /** The archive's size. */
  bytes: number;
  /** Where this run picked the download up (0: from the start). */
  resumedAt: number;
  /** Whether the archive was checked against the MD5 the server published for it. */
  md5Verified: boolean;
  /** The archive is the one imported last time (HTTP 304): nothing was downloaded or imported. */
  notModified: boolean;
}

export interface AdvisoryUpdateOptions {
  dbPath: string;
  ecosystems: readonly string[];
  mirror: URL;
  transport: Transport;
  signal?: AbortSignal | undefined;
  onProgress?: ((event: AdvisoryDownloadEvent) => void) | undefined;
  /** Called as each ecosystem is imported, so what went in is reported even if a later one fails. */
  onImported?: ((update: EcosystemUpdate) => void) | undefined;
}

/**
 * `--ecosystem Debian,npm` → the OSV names, spelled as OSV spells them (`debian` → `Debian`). An ecosystem
 * Berth cannot match is refused: its archive would be downloaded for nothing.
 */
export function parseEcosystemList(raw: string): string[] {
  const known = knownEcosystems();
  const chosen: string[] = [];
  for (const word of raw.split(',').map((w) => w.trim())) {
    if (!word) continue;
    const name = known.find((k) => k.toLowerCase() === word.toLowerCase());
    if (!name)
      throw new BerthError(
        'ADVISORY_ECOSYSTEM_UNKNOWN',
        `--ecosystem: "${word}" is not an ecosystem Berth matches (known: ${known.join(', ')})`,
      );
    if (!chosen.includes(name)) chosen.push(name);
  }
  if (chosen.length === 0) throw new BerthError('USAGE', '--ecosystem: name at least one ecosystem');
  return chosen;
}

/** `--mirror URL`: HTTPS, or plain HTTP on a loopback host (a test mirror); always ending in `/`. */
export function parseMirrorUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BerthError('USAGE', `--mirror: "${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.host)))
    throw new BerthError('USAGE', `--mirror: use an https:// URL (plain http:// only for a loopback host)`);
  if (url.username || url.password || url.search || url.hash)
    throw new BerthError('USAGE', '--mirror: give a plain base URL, without credentials, query or fragment');
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}

/** The MD5 (base64) of `x-goog-hash: crc32c=…,md5=…`, sent as one header or several. */
export function publishedMd5(response: TransportResponse): string | undefined {
  const raw = response.headers['x-goog-hash'];
  const values = Array.isArray(raw) ? raw : raw ? [raw] : [];
  for (const part of values.flatMap((v) => v.split(','))) {
    const m = /^\s*md5=([A-Za-z0-9+/]{22}==)\s*$/.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

/** What is known about the partial file, so a resume continues the same object and not a newer one. */
interface PartialState {
  url: string;
  etag?: string | undefined;
  md5?: string | undefined;
  size?: number | undefined;
}

async function readPartialState(file: string): Promise<PartialState | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<PartialState>;
    if (typeof value.url !== 'string') return undefined;
    return {
      url: value.url,
      etag: typeof value.etag === 'string' ? value.etag : undefined,
      md5: typeof value.md5 === 'string' ? value.md5 : undefined,
      size: typeof value.size === 'number' ? value.size : undefined,
    };
  } catch {
    return undefined;
  }
}

async function fileSize(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

async function md5Base64(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

/** `bytes 100-199/1000` → start 100, total 1000 (total undefined for `*`). */
function parseContentRange(value: string | undefined): { start: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), ...(m[3] !== '*' ? { total: Number(m[3]) } : {}) };
}

function downloadFailed(url: URL, message: string, cause?: unknown): BerthError {
  return new BerthError('ADVISORY_DOWNLOAD_FAILED', `${url.href}: ${message}`, { cause });
}

/** The archive's URL under the mirror: `Red Hat` is one path segment, `Red%20Hat`. */
export function archiveUrl(mirror: URL, ecosystem: string): URL {
  return new URL(`${encodeURIComponent(ecosystem)}/all.zip`, mirror);
}

class TooLarge extends Error {}
class WriteFailed extends Error {}

// Received bytes are queued up to this much before the body is paused.
const QUEUE_HIGH = 4 * 1024 * 1024;

/**
 * Takes a response body's chunks as undici delivers them (flowing mode, listening from the start) and appends
 * them to the file once `drainTo` names it. When the connection breaks, every byte already received is still
 * written, so a resume starts after it; a stream left paused would drop what it had buffered.
 * `drainTo` resolves with why the body stopped early, or undefined when it ended.
 */
function receiveBody(
  body: NodeJS.ReadableStream & { destroy(error?: Error): void },
  room: number,
): { drainTo(handle: FileHandle, onWritten: (bytes: number) => void): Promise<unknown> } {
  const queue: Buffer[] = [];
  let queued = 0;
  let received = 0;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const stop = (error: unknown): void => {
    failure ??= error;
    ended = true;
    wake?.();
  };
  body.on('data', (chunk: Buffer) => {
    if (ended) return;
    received += chunk.length;
    if (received > room) {
      stop(new TooLarge());
      body.destroy();
      return;
    }
    queue.push(chunk);
    queued += chunk.length;
    if (queued > QUEUE_HIGH) body.pause();
    wake?.();
  });
  body.on('end', () => stop(undefined));
  body.on('error', (error: Error) => stop(error));
  return {
    async drainTo(handle, onWritten) {
      for (;;) {
        const chunk = queue.shift();
        if (chunk) {
          queued -= chunk.length;
          try {
            await handle.write(chunk);
          } catch (error) {
            stop(new WriteFailed((error as Error).message, { cause: error }));
            queue.length = 0;
            body.destroy();
            return failure;
          }
          onWritten(chunk.length);
          if (queued < QUEUE_HIGH / 2 && body.isPaused() && !ended) body.resume();
          continue;
        }
        if (ended) return failure;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    },
  };
}

type Download =
  | { notModified: true }
  | {
      notModified: false;
      path: string;
      bytes: number;
      resumedAt: number;
      md5Verified: boolean;
      etag?: string;
    };

/**
 * Fetches one archive into `partial` (kept across runs), resuming what is there; returns once the whole
 * file is on disk and matches the published MD5. A mismatch discards the file.
 */
async function downloadArchive(
  url: URL,
  ecosystem: string,
  partial: string,
  options: AdvisoryUpdateOptions,
  /** The ETag of the archive last imported from this URL: unchanged, it is not downloaded again. */
  imported: string | undefined,
): Promise<Download> {
  const stateFile = `${partial}.json`;
  const discard = async (): Promise<void> => {
    await rm(partial, { force: true });
    await rm(stateFile, { force: true });
  };
  /** Drops what was kept of this archive: the download begins from its first byte. */
  const startOver = async (): Promise<PartialState> => {
    await discard();
    return { url: url.href };
  };
  let state = await readPartialState(stateFile);
  if (!state || state.url !== url.href) state = await startOver();
  let offset = await fileSize(partial);
  // Bytes kept from an earlier run and used; 0 once the file starts over.
  let resumedAt = offset;
  // Already whole (the last run stopped between download and import): only the check remains.
  const complete = offset > 0 && offset === state.size;
  for (let attempt = 1; !complete; attempt++) {
    options.signal?.throwIfAborted();
    // Restarts and resumes both count: a server that answers every request oddly is not asked forever.
    if (attempt > MAX_ATTEMPTS)
      throw downloadFailed(url, `no whole archive after ${MAX_ATTEMPTS} requests; run berth db update again`);
    const headers: Record<string, string> = {};
    if (offset === 0 && imported) headers['if-none-match'] = imported;
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      // A changed object is then sent whole (200) instead of its tail spliced onto the old bytes.
      if (state.etag) headers['if-range'] = state.etag;
    }
    const response = await options.transport({ method: 'GET', url, headers, signal: options.signal });
    if (response.status === 304 && headers['if-none-match']) {
      await response.body.dump();
      return { notModified: true };
    }
    if (response.status === 404) {
      await response.body.dump();
      throw new BerthError(
        'ADVISORY_DOWNLOAD_NOT_FOUND',
        `${url.href}: not found (404): the mirror has no archive for ${ecosystem}`,
      );
    }
    if (response.status === 416 && offset > 0) {
      // The partial file is not a prefix of what the server has now: start over.
      await response.body.dump();
      state = await startOver();
      offset = 0;
      resumedAt = 0;
      continue;
    }
    if (response.status !== 200 && response.status !== 206) {
      await response.body.dump();
      throw downloadFailed(url, `the server answered ${response.status}`);
    }
    const md5 = publishedMd5(response);
    const etag = header(response, 'etag');
    let total: number | undefined;
    let append = false;
    if (response.status === 206) {
      const range = parseContentRange(header(response, 'content-range'));
      const sameObject =
        range?.start === offset &&
        (!state.md5 || !md5 || state.md5 === md5) &&
        (!state.etag || !etag || state.etag === etag);
      if (!sameObject) {
        await response.body.dump();
        state = await startOver();
        offset = 0;
        resumedAt = 0;
        continue;
      }
      append = true;
      total = range.total;
    } else {
      // A whole body: the server ignored the Range (or the object changed); what we had is dropped.
      const length = header(response, 'content-length');
      total = length && /^\d+$/.test(length) ? Number(length) : undefined;
      offset = 0;
      resumedAt = 0;
    }
    if (total !== undefined && total > MAX_ARCHIVE_BYTES) {
      response.body.destroy();
      throw downloadFailed(url, `the archive is larger than ${MAX_ARCHIVE_BYTES} bytes`);
    }
    const limit = total ?? MAX_ARCHIVE_BYTES;
    // Listening starts before any other await: a body that ends meanwhile must not be lost.
    const receiving = receiveBody(response.body, limit - offset);
    state = {
      url: url.href,
      etag: etag ?? (append ? state.etag : undefined),
      md5: md5 ?? (append ? state.md5 : undefined),
      size: total,
    };
    const before = offset;
    let broken: unknown;
    let handle: FileHandle;
    try {
      await mkdir(dirname(partial), { recursive: true, mode: 0o700 });
      await writeAtomically(stateFile, `${JSON.stringify(state)}\n`);
      handle = await open(partial, append ? 'a' : 'w', 0o600);
    } catch (error) {
      response.body.destroy();
      throw new BerthError(
        'ADVISORY_DOWNLOAD_FAILED',
        `cannot write ${partial}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    try {
      options.onProgress?.({ phase: 'download', ecosystem, received: offset, total, resumedAt });
      broken = await receiving.drainTo(handle, (written) => {
        offset += written;
        options.onProgress?.({ phase: 'download', ecosystem, received: offset, total, resumedAt });
      });
    } finally {
      await handle.close();
    }
    if (broken instanceof TooLarge)
      throw downloadFailed(url, `the server sent more than the ${limit} bytes announced`);
    if (broken instanceof WriteFailed)
      throw new BerthError('ADVISORY_DOWNLOAD_FAILED', `cannot write ${partial}: ${broken.message}`, {
        cause: broken,
      });
    if (broken !== undefined && (broken as Error).name === 'AbortError') throw broken;
    // What is on disk is what counts, whatever the loop counted.
    offset = await fileSize(partial);
    if (broken === undefined && total !== undefined && offset < total)
      broken = new Error(`${offset} of ${total} bytes`);
    if (broken !== undefined) {
      if (offset > before && attempt < MAX_ATTEMPTS) continue;
      const reason = (broken as Error).message ?? String(broken);
      throw downloadFailed(
        url,
        `the download broke off after ${offset} bytes (${reason}); run berth db update again to resume`,
        broken,
      );
    }
    break;
  }
  let md5Verified = false;
  if (state.md5) {
    options.onProgress?.({ phase: 'verify', ecosystem });
    const actual = await md5Base64(partial);
    if (actual !== state.md5) {
      await discard();
      throw new BerthError(
        'ADVISORY_DOWNLOAD_CORRUPT',
        `${url.href}: the archive's MD5 is ${actual} where the server published ${state.md5}; the download was discarded`,
      );
    }
    md5Verified = true;
  }
  return {
    notModified: false,
    path: partial,
    bytes: offset,
    resumedAt,
    md5Verified,
    ...(state.etag ? { etag: state.etag } : {}),
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One update at a time per database: two runs appending to the same partial file would corrupt it. The lock
 * file holds the owner's process id; one left by a process that is gone is taken over.
 */
async function lockDownloads(folder: string, dbPath: string): Promise<() => Promise<void>> {
  const file = join(folder, 'update.lock');
  try {
    await mkdir(folder, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new BerthError('ADVISORY_DOWNLOAD_FAILED', `cannot create ${folder}: ${(error as Error).message}`);
  }
  for (let tries = 0; ; tries++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0)
        throw new BerthError('ADVISORY_DOWNLOAD_FAILED', `cannot lock ${file}: ${(error as Error).message}`);
    }
    const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner))
      throw new BerthError(
        'ADVISORY_UPDATE_BUSY',
        `another berth db update (process ${owner}) is updating ${dbPath}; wait for it, or remove ${file} if that process is not berth`,
      );
    await rm(file, { force: true });
  }
}

/**
 * Downloads and imports each ecosystem's archive in turn, stopping at the first failure (the archives
 * imported before it stay imported; the failed one leaves the database unchanged).
 */
export async function updateAdvisoryDb(options: AdvisoryUpdateOptions): Promise<EcosystemUpdate[]> {
  const downloads = `${options.dbPath}.downloads`;
  const results: EcosystemUpdate[] = [];
  // Opened first: a database that cannot be written is reported before anything is downloaded.
  const db = openAdvisoryDb(options.dbPath);
  let unlock: () => Promise<void>;
  try {
    unlock = await lockDownloads(downloads, options.dbPath);
  } catch (error) {
    db.close();
    throw error;
  }
  try {
    for (const ecosystem of options.ecosystems) {
      const url = archiveUrl(options.mirror, ecosystem);
      const partial = join(downloads, `${ecosystem}.zip.partial`);
      const download = await downloadArchive(url, ecosystem, partial, options, db.sourceVersion(url.href));
      if (download.notModified) {
        const update: EcosystemUpdate = {
          ecosystem,
          url: url.href,
          bytes: 0,
          resumedAt: 0,
          md5Verified: false,
          notModified: true,
          ...emptyImportResult(url.href),
        };
        results.push(update);
        options.onImported?.(update);
        continue;
      }
      // A verified archive gets its .zip name, so the importer reads it as one (a non-zip is then refused).
      const archive = join(downloads, basename(partial, '.partial'));
      await rename(download.path, archive);
      let result: AdvisoryImportResult;
      try {
        result = await importAdvisories(db, archive, {
          signal: options.signal,
          onRecord: (records) => options.onProgress?.({ phase: 'import', ecosystem, records }),
        });
      } catch (error) {
        if (options.signal?.aborted) {
          // Interrupted while importing: the verified file stays for the next run, which imports it at once.
          await rename(archive, partial).catch(() => undefined);
          throw error;
        }
        await rm(archive, { force: true });
        await rm(`${partial}.json`, { force: true });
        if (error instanceof BerthError && error.code === 'ADVISORY_ARCHIVE_INVALID')
          throw new BerthError(
            'ADVISORY_ARCHIVE_INVALID',
            `${url.href}: ${error.message.slice(archive.length + 2)}; nothing was imported`,
            { cause: error },
          );
        throw error;
      }
      // Remembered after the import committed: a crash in between costs one more download, nothing else.
      if (download.etag) db.setSourceVersion(url.href, download.etag);
      await rm(archive, { force: true });
      await rm(`${partial}.json`, { force: true });
      const update: EcosystemUpdate = {
        ecosystem,
        url: url.href,
        bytes: download.bytes,
        resumedAt: download.resumedAt,
        md5Verified: download.md5Verified,
        notModified: false,
        ...result,
        source: url.href,
      };
      results.push(update);
      options.onImported?.(update);
    }
  } finally {
    db.close();
    await unlock();
  }
  return results;
}
