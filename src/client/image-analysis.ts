import type { AnalysisReport } from '../scan/layer-analysis.js';
import { examineImage } from './image-examination.js';
import type { ImageLocation } from './image-location.js';
import { withImageSource } from './image-source-scope.js';
import type { SessionSettings } from './session-settings.js';

export interface AnalyzeOptions {
  location: ImageLocation;
  session: SessionSettings;
  platform?: string | undefined;
  /** How many entries the largest and wasted lists hold. */
  top: number;
  onLayer?: (scan: { index: number; uncompressedSize: number }) => void;
}

export interface ImageAnalysis {
  /** The image as the command named it. */
  name: string;
  /** The top manifest's digest (an index's for a multi-platform image). */
  digest: string;
  /** The analyzed platform's manifest digest, when it is not the top one. */
  platformDigest?: string;
  platform?: string;
  report: AnalysisReport;
  /** A layer could not be read: it is reported, and the rest analyzed. */
  incomplete: boolean;
}

/** Reads every layer once: history, per-layer changes, wasted bytes, efficiency, largest files, base image. */
export async function analyzeImage(options: AnalyzeOptions): Promise<ImageAnalysis> {
  return withImageSource(options.location, options.session, async (source) => {
    const exam = await examineImage(source, {
      analysis: true,
      top: options.top,
      ...(options.onLayer ? { onLayer: options.onLayer } : {}),
      ...(options.platform ? { platform: options.platform } : {}),
    });
    return {
      name: source.description,
      digest: exam.digest,
      ...(exam.image.digest !== exam.digest ? { platformDigest: exam.image.digest } : {}),
      ...(exam.platform ? { platform: exam.platform } : {}),
      report: exam.analysis as AnalysisReport,
      incomplete: exam.incomplete,
    };
  });
}
