import { setMaxListeners } from 'node:events';
import type { Command } from 'commander';
import { parseImageLocation } from '../client/image-location.js';
import { parsePlatform } from '../client/platform.js';
import type { CompressionChoice } from '../client/prepared-blob.js';
import type { CopySettings, PushOptions, PushResult } from '../client/push.js';
import { parseByteSize } from '../oci/byte-size.js';
import { BerthError } from '../oci/errors.js';
import type { ManifestFormat } from '../oci/manifest-format.js';
import {
  addClientOptions,
  type ClientFlags,
  parseBool,
  parseCreds,
  sessionSettings,
} from './client-options.js';
import { CommandFailure, INTERRUPTED, onAction } from './exit-status.js';
import { formatAdmissionReport } from './output/admission-report.js';
import type { ProgressMode } from './output/copy-progress.js';
import { pushOutput } from './output/push-result.js';

export interface PushFlags extends ClientFlags {
  all?: boolean;
  platform?: string;
  compression: string;
  compressionLevel?: string;
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

// zstd's own default level (near gzip -6's ratio, faster than gzip -1); above 19 its "ultra" window needs
// hundreds of MiB per worker thread.
const ZSTD_DEFAULT_LEVEL = 3;
const ZSTD_MAX_LEVEL = 19;

/** The tuning of a copy from the command's flags, checked. */
export function copySettings(flags: PushFlags): CopySettings {
  const compression = flags.compression as CompressionChoice;
  if (!['auto', 'gzip', 'zstd', 'none'].includes(compression)) {
    throw new BerthError(
      'USAGE',
      `--compression: expected auto, gzip, zstd or none, got "${flags.compression}"`,
    );
  }
  const zstd = compression === 'zstd';
  // The level is zstd's (1 to 19, default 3) with zstd, gzip's (1 to 9, default 1) otherwise.
  const maxLevel = zstd ? ZSTD_MAX_LEVEL : 9;
  const level = Number(flags.compressionLevel ?? (zstd ? ZSTD_DEFAULT_LEVEL : 1));
  if (!Number.isInteger(level) || level < 1 || level > maxLevel)
    throw new BerthError('USAGE', `--compression-level: expected 1 to ${maxLevel}`);
  if (zstd && flags.format === 'v2s2') {
    throw new BerthError(
      'USAGE',
      '--compression zstd needs OCI manifests: Docker schema 2 (--format v2s2) has no zstd layer type',
    );
  }
  const concurrency = Number(flags.maxConcurrentUploads);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new BerthError('USAGE', '--max-concurrent-uploads: expected 1 to 64');
  }
  if (flags.format !== undefined && flags.format !== 'oci' && flags.format !== 'v2s2') {
    throw new BerthError('USAGE', `--format: expected oci or v2s2, got "${flags.format}"`);
  }
  return {
    // A zstd layer exists only in an OCI manifest, so zstd converts Docker manifests (as skopeo does).
    format: (flags.format ?? (zstd ? 'oci' : undefined)) as ManifestFormat | undefined,
    all: flags.all ?? false,
    platform: flags.platform ? parsePlatform(flags.platform) : undefined,
    compression,
    compressionLevel: level,
    maxConcurrent: concurrency,
    chunkSize: parseByteSize(flags.chunkSize, '--chunk-size'),
  };
}

/**
 * The push use case's options from a copy command's flags: SOURCE to DEST, with the policy report (when
 * `--policy`) on stderr, so stdout stays the push's result.
 */
export async function pushOptions(
  sourceRaw: string,
  destRaw: string,
  flags: PushFlags,
  extraTags: string[] = [],
): Promise<PushOptions> {
  const settings = copySettings(flags);
  // zstd-napi is optional: a missing one is a one-line error before anything is read or sent.
  if (settings.compression === 'zstd') (await import('../client/zstd-layer.js')).loadZstd();
  // Loaded only with --policy: the configuration's schema is a large part of a start otherwise.
  const advisoryDbLookup = flags.policy ? await import('../main/advisory-db-path.js') : undefined;
  const session = sessionSettings(flags);
  const sourceTlsVerify = parseBool(flags.srcTlsVerify, '--src-tls-verify');
  const destinationTlsVerify = parseBool(flags.destTlsVerify, '--dest-tls-verify');
  return {
    settings,
    source: parseImageLocation(sourceRaw),
    destination: parseImageLocation(destRaw),
    session,
    ...(flags.srcCreds ? { sourceCredentials: parseCreds(flags.srcCreds, '--src-creds') } : {}),
    ...(sourceTlsVerify !== undefined ? { sourceTlsVerify } : {}),
    ...(destinationTlsVerify !== undefined ? { destinationTlsVerify } : {}),
    extraTags,
    ...(flags.policy && advisoryDbLookup
      ? {
          admission: {
            policyFile: flags.policy,
            advisoryDb: advisoryDbLookup.advisoryDbPath(flags),
            warnOnly: flags.warnOnly === true,
          },
          onAdmission: ({ image, platform, report }) => {
            if (!flags.quiet || report.refused)
              process.stderr.write(
                `${image}${platform ? ` (${platform})` : ''}\n${formatAdmissionReport(report)}`,
              );
          },
        }
      : {}),
  };
}

/** Runs a push with the progress view the flags ask for, stopping the view however the push ends. */
export async function runPush(options: PushOptions, progress: ProgressMode): Promise<PushResult> {
  // The importer and the progress bars load when a push runs, not on every start of the CLI.
  const [{ pushImage }, { copyProgress }] = await Promise.all([
    import('../client/push.js'),
    import('./output/copy-progress.js'),
  ]);
  const view = copyProgress(progress, process.stderr);
  try {
    return await pushImage({ ...options, onEvent: (event) => view.onEvent(event) });
  } finally {
    view.stop();
  }
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
        '--compression <auto|gzip|zstd|none>',
        'compress uncompressed layers (auto: gzip, only when it pays; zstd: OCI manifests only)',
        'auto',
      )
      .option('--compression-level <n>', 'gzip level 1-9 (default 1), or zstd level 1-19 (default 3)')
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
  onAction(addCopyOptions(command), async (sourceRaw: string, destRaw: string, flags: PushFlags) => {
    const options = await pushOptions(sourceRaw, destRaw, flags);
    const controller = new AbortController();
    // Every open blob stream listens on this signal; a wide image has more than the default ten.
    setMaxListeners(0, controller.signal);
    const interrupt = (): void =>
      controller.abort(new BerthError('INTERRUPTED', 'interrupted; run the same command again to resume'));
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    try {
      const run = await runPush({ ...options, signal: controller.signal }, progressMode(flags)).catch(
        (error: unknown) => {
          throw controller.signal.aborted ? new CommandFailure(INTERRUPTED, error) : error;
        },
      );
      process.stdout.write(pushOutput(run, flags));
      return 0;
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  });
}
