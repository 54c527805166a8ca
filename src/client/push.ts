import { formatBytes } from '../oci/byte-size.js';
import { BerthError } from '../oci/errors.js';
import { imageIndexSchema } from '../oci/manifest.js';
import type { ManifestFormat } from '../oci/manifest-format.js';
import { isIndexMediaType } from '../oci/media-types.js';
import type { AdmissionReport } from '../policy/admission-check.js';
import { type AdmissionPolicy, loadAdmissionPolicy } from '../policy/admission-policy.js';
import { type GateOptions, runAdmissionGate } from './admission-gate.js';
import { type CopyEvent, type CopyOptions, type CopyResult, copyImage } from './copy-image.js';
import type { Credentials } from './credentials/credentials.js';
import { copyThroughGate } from './gated-copy.js';
import { describeLocation, type ImageLocation } from './image-location.js';
import { formatPlatform, type Platform } from './platform.js';
import type { CompressionChoice } from './prepared-blob.js';
import { openSessionFor, type SessionSettings } from './session-settings.js';
import type { ImageSource } from './sources/image-source.js';

/** The tuning of a copy, as the command's flags give it. */
export interface CopySettings {
  /** Copy every platform of an index. */
  all: boolean;
  platform?: Platform | undefined;
  compression: CompressionChoice;
  compressionLevel: number;
  maxConcurrent: number;
  /** Bytes per upload request (0: a whole blob in one). */
  chunkSize: number;
  /** Convert manifests to this format; undefined keeps them (an OCI layout destination asks for `oci`). */
  format?: ManifestFormat | undefined;
}

/** `--policy`: the admission gate a push passes first. */
export interface PushAdmission {
  /** The policy file; a bad one is reported before anything is opened. */
  policyFile: string;
  /** The advisory database, for vulnerability rules. */
  advisoryDb: string;
  /** Report failures but push anyway. */
  warnOnly: boolean;
}

/** One platform's admission report, as the gate made it before the push. */
export interface AdmissionChecked {
  image: string;
  platform?: string | undefined;
  report: AdmissionReport;
}

export interface PushOptions {
  source: ImageLocation;
  destination: ImageLocation;
  /** The session; its `credentials` (`--creds`) are the destination's. */
  session: SessionSettings;
  /** `--src-creds`: the source registry's, when it is another host than the destination. */
  sourceCredentials?: Credentials | undefined;
  /** `--src-tls-verify`, `--dest-tls-verify` (each defaults to the session's `tlsVerify`). */
  sourceTlsVerify?: boolean | undefined;
  destinationTlsVerify?: boolean | undefined;
  settings: CopySettings;
  /** More tags for the image at the destination (an import file's `tags`). */
  extraTags?: string[];
  admission?: PushAdmission | undefined;
  onAdmission?: (checked: AdmissionChecked) => void;
  onEvent?: (event: CopyEvent) => void;
  signal?: AbortSignal | undefined;
}

export interface PushResult {
  source: string;
  destination: string;
  result: CopyResult;
  seconds: number;
}

// Blobs up to this size go up in one request whatever the chunk size.
const SMALL_BLOB_MAX = 1024 * 1024;

function hostOf(location: ImageLocation): string | undefined {
  return location.transport === 'docker' ? location.ref.host : undefined;
}

/**
 * Copies an image into a registry (or out of one): opens source and destination, runs the admission gate
 * when a policy is given, and copies; used by `push`, `copy`, `tag` and `import`. An interruption (the
 * signal) ends with an INTERRUPTED error that says what went up in this run.
 */
export async function pushImage(options: PushOptions): Promise<PushResult> {
  const { source: from, destination: to, settings, signal } = options;
  const policy = options.admission ? await loadAdmissionPolicy(options.admission.policyFile) : undefined;
  const srcHost = hostOf(from);
  const destHost = hostOf(to);
  const session = await openSessionFor(options.session, destHost ? [destHost] : []);
  if (srcHost) session.setTlsVerify(srcHost, options.sourceTlsVerify ?? options.session.tlsVerify);
  if (destHost) session.setTlsVerify(destHost, options.destinationTlsVerify ?? options.session.tlsVerify);
  if (srcHost && options.sourceCredentials && srcHost !== destHost)
    session.addCredentials(srcHost, options.sourceCredentials);
  const started = performance.now();
  // What went up before an interruption, for the message that says so.
  const thisRun = { blobs: 0, bytes: 0 };
  let source: ImageSource | undefined;
  try {
    source = await session.openSource(from, signal);
    const description = source.description;
    // One image: the gate reads its layers with the copy, in one pass. Several platforms: each is gated
    // first, as the copy of an index cannot wait for several verdicts at once.
    const platforms = policy ? await platformsToCheck(source, settings) : [];
    const onePass = policy && options.admission && platforms.length === 1 ? options.admission : undefined;
    if (policy && options.admission && !onePass)
      await gateBeforePush(source, policy, options.admission, options, signal);
    const { destination, tags, format } = await session.openDestination(
      to,
      { chunkSize: settings.chunkSize, smallBlobMax: SMALL_BLOB_MAX },
      from.transport === 'docker' ? { host: from.ref.host, repository: from.ref.repository } : undefined,
    );
    try {
      const copyOptions: CopyOptions = {
        ...settings,
        format: settings.format ?? format,
        cacheDir: session.cacheDir,
        cache: session.cache,
        onEvent: (event) => {
          if (event.type === 'blob' && event.state === 'uploaded') {
            thisRun.blobs += 1;
            thisRun.bytes += event.sent ?? 0;
          }
          options.onEvent?.(event);
        },
        ...(signal ? { signal } : {}),
      };
      const destinationTags = tagsToPush(to, tags, options.extraTags ?? []);
      const result =
        policy && onePass
          ? (
              await copyThroughGate(source, destination, destinationTags, copyOptions, {
                gate: gateOptions(policy, onePass, to, platforms[0]),
                refusal: (report, uploaded) =>
                  refusalError(onePass, [failedChecks(report, platforms[0])], uploaded),
                onReport: (report) =>
                  options.onAdmission?.({ image: description, platform: platforms[0], report }),
              })
            ).result
          : await copyImage(source, destination, destinationTags, copyOptions);
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

/** The platforms a push sends, as the gate checks them: every one of an index with `all`, else the one. */
export async function platformsToCheck(
  source: ImageSource,
  settings: Pick<CopySettings, 'all' | 'platform'>,
): Promise<(string | undefined)[]> {
  const chosen = settings.platform ? formatPlatform(settings.platform) : undefined;
  if (!settings.all) return [chosen];
  const top = await source.topManifest();
  if (!isIndexMediaType(top.mediaType)) return [chosen];
  const index = imageIndexSchema.parse(JSON.parse(top.bytes.toString('utf8')));
  return index.manifests
    .filter((m) => m.platform)
    .map((m) => formatPlatform(m.platform as NonNullable<typeof m.platform>));
}

/**
 * Runs the admission gate on what the push would send (every platform with `all`) and refuses the push
 * when it fails, unless warn-only. Each report goes to `onAdmission`.
 */
async function gateBeforePush(
  source: ImageSource,
  policy: AdmissionPolicy,
  admission: PushAdmission,
  options: PushOptions,
  signal: AbortSignal | undefined,
): Promise<void> {
  const to = options.destination;
  const refusals: string[] = [];
  for (const platform of await platformsToCheck(source, options.settings)) {
    const { report } = await runAdmissionGate(source, {
      ...gateOptions(policy, admission, to, platform),
      ...(signal ? { signal } : {}),
    });
    options.onAdmission?.({ image: source.description, platform, report });
    if (report.refused) refusals.push(failedChecks(report, platform));
  }
  if (refusals.length > 0) throw refusalError(admission, refusals, 0);
}

function gateOptions(
  policy: AdmissionPolicy,
  admission: PushAdmission,
  to: ImageLocation,
  platform: string | undefined,
): GateOptions {
  return {
    policy,
    ...(to.transport === 'docker' ? { destination: to.ref } : {}),
    ...(platform ? { platform } : {}),
    advisoryDb: admission.advisoryDb,
    ...(admission.warnOnly ? { warnOnly: true } : {}),
  };
}

function failedChecks(report: AdmissionReport, platform: string | undefined): string {
  return `${report.counts.fail} failed check${report.counts.fail === 1 ? '' : 's'}${platform ? ` for ${platform}` : ''}`;
}

/** The refusal; blobs that went up while the gate read the layers (one pass) are said to stay untagged. */
function refusalError(admission: PushAdmission, refusals: string[], uploaded: number): BerthError {
  const outcome =
    uploaded === 0
      ? 'nothing was pushed'
      : `no manifest or tag was pushed (${uploaded} blob${uploaded === 1 ? '' : 's'} uploaded while the gate read the layers stay untagged)`;
  return new BerthError(
    'POLICY_REFUSED',
    `refused by policy ${admission.policyFile}: ${refusals.join(', ')}; ${outcome} (--warn-only to push anyway)`,
  );
}
