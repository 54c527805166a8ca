import { BerthError } from '../oci/errors.js';
import type { AdmissionReport } from '../policy/admission-check.js';
import { type GateOptions, runAdmissionGate } from './admission-gate.js';
import { type CopyOptions, type CopyResult, copyImage } from './copy-image.js';
import type { ImageDestination } from './destinations/image-destination.js';
import { isUncompressedLayer } from './prepared-blob.js';
import { SharedLayerReads } from './shared-layer-reads.js';
import type { ImageSource } from './sources/image-source.js';

export interface GatedCopyOptions {
  gate: Omit<GateOptions, 'signal'>;
  /** The refusal's error, given the report (the push names the policy file and what failed). */
  refusal: (report: AdmissionReport, uploaded: number) => Error;
  onReport?: (report: AdmissionReport) => void;
}

/**
 * The admission gate and the copy of one image in one pass: the gate walks each layer the copy compresses
 * from the copy's own reading of it (SharedLayerReads), so a layer is read once; layers the copy does not
 * read (at the destination already, compressed earlier, or not to be compressed) the gate reads itself.
 * Blobs are checked and compressed into their spool files meanwhile, but nothing is sent (no blob, mount or
 * manifest) before the verdict: a refused image leaves nothing at the registry, and its refusal stops the
 * compression still under way.
 */
export async function copyThroughGate(
  source: ImageSource,
  dest: ImageDestination,
  tags: string[],
  options: CopyOptions,
  gated: GatedCopyOptions,
): Promise<{ result: CopyResult; report: AdmissionReport }> {
  const reads = new SharedLayerReads();
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  let uploaded = 0;
  let refused: AdmissionReport | undefined;
  const verdict = runAdmissionGate(
    reads.gateView(source, (d) => options.compression !== 'none' && isUncompressedLayer(d.mediaType)),
    { ...gated.gate, signal },
  ).then((gate) => {
    gated.onReport?.(gate.report);
    if (gate.report.refused) {
      refused = gate.report;
      const stopped = new BerthError('POLICY_REFUSED', 'refused by the admission policy');
      stop.abort(stopped);
      throw stopped;
    }
    return gate.report;
  });
  verdict.catch(() => {});
  try {
    const result = await copyImage(source, dest, tags, {
      ...options,
      signal,
      layerReads: reads,
      beforeSending: async () => {
        await verdict;
      },
      onEvent: (event) => {
        if (event.type === 'blob' && event.state === 'uploaded') uploaded += 1;
        options.onEvent?.(event);
      },
    });
    return { result, report: await verdict };
  } catch (error) {
    // Counted once the copy has stopped (none, as nothing goes before the verdict; said if that changes).
    if (refused) throw gated.refusal(refused, uploaded);
    // The copy failed (or the gate did, and the copy stopped at its verdict): the gate has nothing to add.
    stop.abort(error);
    throw error;
  } finally {
    reads.close();
  }
}
