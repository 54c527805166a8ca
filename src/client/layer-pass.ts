import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import type { Descriptor } from '../oci/manifest.js';
import { ImageFilesystem } from '../scan/image-filesystem.js';
import { emptyLayerScan, type LayerScan, type WalkOptions, walkLayer } from '../scan/layer-walker.js';
import type { ScanIssue } from '../scan/types.js';
import type { ImageSource } from './sources/image-source.js';

export interface LayerPassOptions extends WalkOptions {
  /** Layers decompressed at once (default: the machine's cores, at most 4). Merging stays in order. */
  concurrency?: number;
  /** Called when a layer is merged. */
  onLayer?: (scan: Omit<LayerScan, 'entries'>) => void;
}

export interface LayerPassResult {
  fs: ImageFilesystem;
  /** Each layer's pass, without its entry list (merged into `fs`). */
  scans: Omit<LayerScan, 'entries'>[];
  issues: ScanIssue[];
  /** True when a layer could not be read to its end: what follows from it is incomplete. */
  incomplete: boolean;
}

/**
 * One pass over an image's layers: each blob is streamed once from the source (its digest checked on the
 * way), decompressed and walked; layers are read concurrently (zlib works on the thread pool) and merged
 * base first. A layer that cannot be read becomes an issue and the pass goes on with the next.
 */
export async function passOverLayers(
  source: ImageSource,
  layers: readonly Descriptor[],
  options: LayerPassOptions = {},
): Promise<LayerPassResult> {
  const fs = new ImageFilesystem();
  const limit = pLimit(Math.max(1, options.concurrency ?? Math.min(4, availableParallelism())));
  const walks = layers.map((layer, index) =>
    limit(async (): Promise<LayerScan> => {
      const meta = { index, digest: layer.digest, mediaType: layer.mediaType, size: layer.size };
      let blob: Awaited<ReturnType<ImageSource['openBlob']>>;
      try {
        blob = await source.openBlob(layer, options.signal ? { signal: options.signal } : {});
      } catch (error) {
        if (options.signal?.aborted) throw error;
        return {
          ...emptyLayerScan(meta),
          incomplete: true,
          issues: [
            {
              code: 'LAYER_UNREADABLE',
              message: `layer ${index + 1} (${layer.digest}) could not be opened: ${(error as Error).message}`,
              layerIndex: index,
              layerDigest: layer.digest,
            },
          ],
        };
      }
      return walkLayer(blob, meta, options);
    }),
  );
  // Rejections of walks not yet awaited must not go unhandled while an earlier one is merged.
  for (const walk of walks) walk.catch(() => {});
  const scans: Omit<LayerScan, 'entries'>[] = [];
  for (const walk of walks) {
    const scan = await walk;
    fs.apply(scan);
    const { entries: _entries, ...summary } = scan;
    scans.push(summary);
    options.onLayer?.(summary);
  }
  const issues = [...scans.flatMap((s) => s.issues), ...fs.issues];
  return { fs, scans, issues, incomplete: scans.some((s) => s.incomplete) };
}
