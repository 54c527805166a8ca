import { setMaxListeners } from 'node:events';
import type { Command } from 'commander';
import { runAdmissionGate } from '../client/admission-gate.js';
import { type CopyOptions, type CopyResult, copyImage } from '../client/copy-image.js';
import { describeLocation, type ImageLocation, parseImageLocation } from '../client/image-location.js';
import { formatPlatform, parsePlatform } from '../client/platform.js';
import type { CompressionChoice } from '../client/prepared-blob.js';
import type { ImageSource } from '../client/sources/image-source.js';
import { formatBytes, parseByteSize } from '../oci/byte-size.js';
import { BerthError } from '../oci/errors.js';
import { imageIndexSchema } from '../oci/manifest.js';
import type { ManifestFormat } from '../oci/manifest-format.js';
import { isIndexMediaType } from '../oci/media-types.js';
import { formatAdmissionReport } from '../policy/admission-check.js';
import { type AdmissionPolicy, loadAdmissionPolicy } from '../policy/admission-policy.js';
import { addClientOptions, type ClientFlags, openSession, parseBool, parseCreds } from './client-options.js';
import { copyProgress, type ProgressMode } from './copy-progress.js';
import { advisoryDbPath } from './gate-command.js';

export interface PushFlags extends ClientFlags {
  all?: boolean;
  platform?: string;
  compression: string;
  compressionLevel: string;
  maxConcurrentUploads: string;
  chunkSize: string;
  srcTlsVerify?: string;
  destTlsVerify?: string;
  srcCreds?: string;
  format?: string;
  json?: boolean;
  quiet?: boolean;
  policy?: string;
  warnOnly?: boolean;
  db?: string;
}

/** The tuning of a copy from the command's flags, checked. */
export function copySettings(flags: PushFlags) {
  const compression = flags.compression as CompressionChoice;
  if (!['auto', 'gzip', 'none'].includes(compression)) {
    throw new BerthError('USAGE', `--compression: expected auto, gzip or none, got "${flags.compression}"`);
  }
  const level = Number(flags.compressionLevel);
  if (!Number.isInteger(level) || level < 1 || level > 9)
    throw new BerthError('USAGE', '--compression-level: expected 1 to 9');
  const concurrency = Number(flags.maxConcurrentUploads);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new BerthError('USAGE', '--max-concurrent-uploads: expected 1 to 64');
  }
  if (flags.format !== undefined && flags.format !== 'oci' && flags.format !== 'v2s2') {
    throw new BerthError('USAGE', `--format: expected oci or v2s2, got "${flags.format}"`);
  }
  return {
    format: flags.format as ManifestFormat | undefined,
    all: flags.all ?? false,
    platform: flags.platform ? parsePlatform(flags.platform) : undefined,
    compression,
    compressionLevel: level,
    maxConcurrent: concurrency,
    chunkSize: parseByteSize(flags.chunkSize, '--chunk-size'),
  };
}

function hostOf(location: ImageLocation): string | undefined {
  return location.transport === 'docker' ? location.ref.host : undefined;
}

export interface CopyRun {
  source: string;
  destination: string;
  result: CopyResult;
  seconds: number;
}

/** Copies SOURCE to DEST with a session built from the flags; used by `push`, `copy` and `import`. */
export async function runCopy(
  sourceRaw: string,
  destRaw: string,
  flags: PushFlags,
  progress: ProgressMode,
  extraTags: string[] = [],
  signal?: AbortSignal,
): Promise<CopyRun> {
  const settings = copySettings(flags);
  // A bad policy file is reported before anything is opened.
  const policy = flags.policy ? await loadAdmissionPolicy(flags.policy) : undefined;
  const from = parseImageLocation(sourceRaw);
  const to = parseImageLocation(destRaw);
  const session = await openSession(
    flags,
    [hostOf(to)].filter((h): h is string => h !== undefined),
  );
  const srcHost = hostOf(from);
  const destHost = hostOf(to);
  if (srcHost)
    session.setTlsVerify(
      srcHost,
      parseBool(flags.srcTlsVerify, '--src-tls-verify') ?? parseBool(flags.tlsVerify, '--tls-verify'),
    );
  if (destHost)
    session.setTlsVerify(
      destHost,
      parseBool(flags.destTlsVerify, '--dest-tls-verify') ?? parseBool(flags.tlsVerify, '--tls-verify'),
    );
  if (srcHost && flags.srcCreds && srcHost !== destHost) {
    session.addCredentials(srcHost, parseCreds(flags.srcCreds, '--src-creds'));
  }
  const started = performance.now();
  const view = copyProgress(progress, process.stderr);
  // What went up before an interruption, for the message that says so.
  const thisRun = { blobs: 0, bytes: 0 };
  let source: Awaited<ReturnType<typeof session.openSource>> | undefined;
  try {
    source = await session.openSource(from, signal);
    if (policy) await gateBeforePush(source, policy, to, settings, flags, signal);
    const { destination, tags, format } = await session.openDestination(
      to,
      { chunkSize: settings.chunkSize, smallBlobMax: 1024 * 1024 },
      from.transport === 'docker' ? { host: from.ref.host, repository: from.ref.repository } : undefined,
    );
    try {
      const options: CopyOptions = {
        ...settings,
        format: settings.format ?? format,
        cacheDir: session.cacheDir,
        cache: session.cache,
        onEvent: (event) => {
          if (event.type === 'blob' && event.state === 'uploaded') {
            thisRun.blobs += 1;
            thisRun.bytes += event.sent ?? 0;
          }
          view.onEvent(event);
        },
        ...(signal ? { signal } : {}),
      };
      const result = await copyImage(source, destination, tagsToPush(to, tags, extraTags), options);
      return {
        source: describeLocation(from),
        destination: describeLocation(to),
        result,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      await destination.close();
    }
  } catch (error) {
    // Whatever the interrupted step threw (a stream's AbortError, a request's), the news is the interruption.
    if (signal?.aborted) {
      const moved =
        thisRun.blobs > 0
          ? `${thisRun.blobs} blob${thisRun.blobs === 1 ? '' : 's'} (${formatBytes(thisRun.bytes)}) went up in this run`
          : 'no blob was completed in this run';
      throw new BerthError(
        'INTERRUPTED',
        `${describeLocation(to)}: interrupted: ${moved}; run the same command again to resume`,
        { cause: error },
      );
    }
    if (error instanceof BerthError && !error.message.includes(describeLocation(from))) {
      throw new BerthError(
        error.code,
        `${describeLocation(from)} -> ${describeLocation(to)}: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    view.stop();
    await source?.close().catch(() => {});
    await session.close();
  }
}

/**
 * The destination's own tag, then the extra ones, each once. A destination without a tag means `latest`
 * only when no extra tags are listed: `tags: [v1, v2]` pushes v1 and v2, not latest as well.
 */
export function tagsToPush(to: ImageLocation, destinationTags: string[], extraTags: string[]): string[] {
  const implicitLatest = to.transport === 'docker' && to.ref.tag === undefined;
  const all = implicitLatest && extraTags.length > 0 ? extraTags : [...destinationTags, ...extraTags];
  return [...new Set(all)];
}

export function summary(run: CopyRun): string {
  const counts = { exists: 0, mounted: 0, uploaded: 0 };
  for (const blob of run.result.blobs) counts[blob.action]++;
  const { uploadedBytes, sentBytes } = run.result;
  // A resumed upload counts only the bytes this run sent; the rest went up in the interrupted one.
  const resumed =
    uploadedBytes > sentBytes ? `, ${formatBytes(uploadedBytes - sentBytes)} of it sent before` : '';
  const moved =
    counts.uploaded > 0
      ? `${counts.uploaded} uploaded (${formatBytes(sentBytes)} sent${resumed})`
      : 'nothing uploaded';
  return `${run.destination} ${run.result.digest}: ${moved}, ${counts.exists} already there, ${counts.mounted} mounted, in ${run.seconds.toFixed(1)} s`;
}

export function runJson(run: CopyRun): Record<string, unknown> {
  return {
    source: run.source,
    destination: run.destination,
    digest: run.result.digest,
    mediaType: run.result.mediaType,
    platforms: run.result.platforms,
    uploadedBytes: run.result.uploadedBytes,
    sentBytes: run.result.sentBytes,
    seconds: Number(run.seconds.toFixed(3)),
    blobs: run.result.blobs,
  };
}

export function addCopyOptions(command: Command): Command {
  return addClientOptions(
    command
      .option('--all', 'copy every platform of a multi-platform index')
      .option(
        '--platform <os/arch[/variant]>',
        "copy this platform out of an index (default: this machine's)",
      )
      .option(
        '--compression <auto|gzip|none>',
        'compress uncompressed layers (auto: only when it pays)',
        'auto',
      )
      .option('--compression-level <1-9>', 'gzip level (1 fastest)', '1')
      .option(
        '--format <oci|v2s2>',
        'convert manifests to OCI or Docker schema 2 (default: keep; OCI into a layout)',
      )
      .option('--max-concurrent-uploads <n>', 'blobs moved at once', '4')
      .option('--chunk-size <size>', 'bytes per upload request (0: whole blob in one request)', '64MiB')
      .option('--src-tls-verify <bool>', 'TLS verification for the source registry')
      .option('--dest-tls-verify <bool>', 'TLS verification for the destination registry')
      .option('--src-creds <user:password>', 'credentials for the source registry')
      .option('--json', 'print the result as JSON')
      .option('-q, --quiet', 'print only the digest'),
  );
}

/**
 * Runs the admission gate on what the push would send (every platform with --all) and refuses the push
 * when it fails, unless --warn-only. The report goes to stderr, so stdout stays the push's result.
 */
async function gateBeforePush(
  source: ImageSource,
  policy: AdmissionPolicy,
  to: ImageLocation,
  settings: ReturnType<typeof copySettings>,
  flags: PushFlags,
  signal: AbortSignal | undefined,
): Promise<void> {
  const top = await source.topManifest();
  let platforms: (string | undefined)[] = [settings.platform ? formatPlatform(settings.platform) : undefined];
  if (settings.all && isIndexMediaType(top.mediaType)) {
    const index = imageIndexSchema.parse(JSON.parse(top.bytes.toString('utf8')));
    platforms = index.manifests
      .filter((m) => m.platform)
      .map((m) => formatPlatform(m.platform as NonNullable<typeof m.platform>));
  }
  const refusals: string[] = [];
  for (const platform of platforms) {
    const { report } = await runAdmissionGate(source, {
      policy,
      ...(to.transport === 'docker' ? { destination: to.ref } : {}),
      ...(platform ? { platform } : {}),
      advisoryDb: advisoryDbPath(flags),
      ...(flags.warnOnly ? { warnOnly: true } : {}),
      ...(signal ? { signal } : {}),
    });
    if (!flags.quiet || report.refused)
      process.stderr.write(
        `${source.description}${platform ? ` (${platform})` : ''}\n${formatAdmissionReport(report)}`,
      );
    if (report.refused)
      refusals.push(
        `${report.counts.fail} failed check${report.counts.fail === 1 ? '' : 's'}${platform ? ` for ${platform}` : ''}`,
      );
  }
  if (refusals.length > 0)
    throw new BerthError(
      'POLICY_REFUSED',
      `refused by policy ${flags.policy}: ${refusals.join(', ')}; nothing was pushed (--warn-only to push anyway)`,
    );
}

export function progressMode(flags: { json?: boolean; quiet?: boolean }): ProgressMode {
  if (flags.json || flags.quiet) return 'none';
  return process.stderr.isTTY ? 'bars' : 'lines';
}

export function registerPushCommand(program: Command): void {
  const command = program
    .command('push')
    .alias('copy')
    .argument(
      '<source>',
      'docker-archive:PATH[:REF], oci:DIR[:TAG], oci-archive:PATH[:TAG], docker-daemon:NAME:TAG, docker://HOST/REPO:TAG',
    )
    .argument(
      '<destination>',
      'docker://HOST/PROJECT/IMAGE:TAG (or HOST/PROJECT/IMAGE:TAG), or oci:DIR[:TAG]',
    )
    .description(
      'copy an image into a registry (or out of one): skips what is there, mounts what it can, resumes',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ berth push docker-archive:app.tar registry.example.com/team/app:1.4.2
  $ berth push oci:./build/layout:v1 docker://localhost:5000/team/app:v1
  $ berth copy --all docker://registry.example.com/team/app:1.4 oci:./mirror:1.4
  $ berth push --platform linux/arm64 oci-archive:multi.tar registry.example.com/team/app:arm64
  $ berth push docker-daemon:team/app:latest registry.example.com/team/app:latest
  $ berth push --policy policy.yaml docker-archive:app.tar registry.example.com/prod/app:1.4.2

An interrupted push (Ctrl-C, a crash, a broken connection) resumes partly uploaded blobs when run again.`,
    );
  command
    .option(
      '--policy <file>',
      'check the image against an admission policy first; refuse the push if it fails',
    )
    .option('--warn-only', 'with --policy: report failed checks but push anyway')
    .option('--db <path>', 'with --policy: the advisory database for vulnerability rules');
  addCopyOptions(command).action(async (sourceRaw: string, destRaw: string, flags: PushFlags) => {
    const controller = new AbortController();
    // Every open blob stream listens on this signal; a wide image has more than the default ten.
    setMaxListeners(0, controller.signal);
    const interrupt = (): void =>
      controller.abort(new BerthError('INTERRUPTED', 'interrupted; run the same command again to resume'));
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      const run = await runCopy(sourceRaw, destRaw, flags, progressMode(flags), [], controller.signal).catch(
        (error: unknown) => {
          // 128 + SIGINT, as shells report a command stopped by Ctrl-C.
          if (controller.signal.aborted) process.exitCode = 130;
          throw error;
        },
      );
      if (flags.json) process.stdout.write(`${JSON.stringify(runJson(run), null, 2)}\n`);
      else if (flags.quiet) process.stdout.write(`${run.result.digest}\n`);
      else process.stdout.write(`${summary(run)}\n`);
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  });
}
