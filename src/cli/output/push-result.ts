import type { PushResult } from '../../client/push.js';
import { formatBytes } from '../../oci/byte-size.js';

/** One line: what a push moved, found and mounted, and how long it took. */
export function pushSummary(run: PushResult): string {
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

/** The `--json` form of a push. */
export function pushJson(run: PushResult): Record<string, unknown> {
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

/** A push's result on stdout: JSON, the digest alone (`--quiet`), or the summary line. */
export function pushOutput(run: PushResult, flags: { json?: boolean; quiet?: boolean }): string {
  if (flags.json) return `${JSON.stringify(pushJson(run), null, 2)}\n`;
  if (flags.quiet) return `${run.result.digest}\n`;
  return `${pushSummary(run)}\n`;
}
