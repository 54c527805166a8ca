import { formatBytes } from '../../oci/byte-size.js';

/**
 * A one-line "layers read" counter on a terminal's stderr while a gate command streams the layers (a
 * multi-gigabyte image takes a while); nothing when stderr is not a terminal.
 */
export function layerProgress(stream: NodeJS.WriteStream = process.stderr): {
  onLayer: (scan: { index: number; uncompressedSize: number }) => void;
  done: () => void;
} {
  if (!stream.isTTY) return { onLayer: () => {}, done: () => {} };
  let layers = 0;
  let bytes = 0;
  return {
    onLayer: (scan) => {
      layers += 1;
      bytes += scan.uncompressedSize;
      stream.write(
        `\r\x1b[Kread ${layers} layer${layers === 1 ? '' : 's'}, ${formatBytes(bytes)} of tar data`,
      );
    },
    done: () => {
      if (layers > 0) stream.write('\r\x1b[K');
    },
  };
}

/** Runs `work` with a layer counter that is cleared however it ends, so an error line starts clean. */
export async function withLayerProgress<T>(
  work: (onLayer: (scan: { index: number; uncompressedSize: number }) => void) => Promise<T>,
): Promise<T> {
  const progress = layerProgress();
  try {
    return await work(progress.onLayer);
  } finally {
    progress.done();
  }
}
