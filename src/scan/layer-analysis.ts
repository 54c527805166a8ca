import type { ImageConfig } from '../oci/image-config.js';
import type { ImageFilesystem, LayerChanges } from './image-filesystem.js';
import type { LayerScan } from './layer-walker.js';
import type { OsRelease, ScanIssue } from './types.js';

/** The parts of an image config the analysis reads. */
export type AnalyzedConfig = Pick<ImageConfig, 'created' | 'config' | 'history'>;

export interface HistoryRow {
  created: string;
  createdBy: string;
  comment: string;
  emptyLayer: boolean;
  /** The layer this step made, or null for a step that changed only the config. */
  layerIndex: number | null;
  layerDigest: string | null;
  /** Compressed size of its layer (0 for an empty step). */
  size: number;
}

export interface LayerReport extends LayerChanges {
  mediaType: string;
  compression: string;
  compressedSize: number;
  uncompressedSize: number;
  createdBy: string;
  /** Bytes of this layer's files that do not reach the final filesystem. */
  wastedBytes: number;
  incomplete: boolean;
}

export interface WastedFile {
  path: string;
  /** Bytes shipped for this path that never reach the final filesystem. */
  wastedBytes: number;
  /** Layers holding a copy that is overwritten or removed later. */
  layers: number[];
  how: ('overwritten' | 'removed')[];
}

export interface DuplicateContent {
  hash: string;
  size: number;
  /** Every final path holding the same bytes, with its layer. */
  paths: { path: string; layerIndex: number }[];
  wastedBytes: number;
}

export interface BaseImage {
  name?: string;
  digest?: string;
  /** The operating system the final filesystem declares. */
  os?: string;
  /** How many of the image's layers the base made (when the history tells). */
  layers?: number;
  /** What the guess rests on. */
  evidence: string[];
}

export interface AnalysisReport {
  layers: LayerReport[];
  history: HistoryRow[];
  historyMismatch?: string;
  totals: {
    compressedSize: number;
    uncompressedSize: number;
    /** Bytes of regular files shipped across all layers. */
    shippedFileBytes: number;
    /** Bytes of regular files in the final filesystem. */
    finalFileBytes: number;
    finalFiles: number;
    /** Overwritten and removed files plus duplicate content. */
    wastedBytes: number;
    overwrittenOrRemovedBytes: number;
    duplicateBytes: number;
    /** finalFileBytes / shippedFileBytes (1 when nothing is shipped). */
    efficiency: number;
  };
  wastedFiles: WastedFile[];
  duplicates: DuplicateContent[];
  largestFiles: { path: string; size: number; layerIndex: number }[];
  largestFolders: { path: string; bytes: number; files: number }[];
  baseImage?: BaseImage;
  issues: ScanIssue[];
}

export interface AnalysisOptions {
  /** How many entries the top lists keep (default 20). */
  top?: number;
  os?: OsRelease;
  annotations?: Record<string, string>;
}

/** Lines a base image's own build leaves in the history, before the first step of the image's Dockerfile. */
const BUILDKIT_COMMENT = 'buildkit.dockerfile.v0';

/** Pairs history steps with layers: every step not marked `empty_layer` made the next layer. */
export function alignHistory(
  config: AnalyzedConfig,
  layers: { digest: string; size: number }[],
): { rows: HistoryRow[]; mismatch?: string } {
  const rows: HistoryRow[] = [];
  let next = 0;
  for (const step of config.history ?? []) {
    const empty = step.empty_layer === true;
    const layer = empty ? undefined : layers[next];
    const index = empty || !layer ? null : next;
    if (!empty) next += 1;
    rows.push({
      created: step.created ?? '',
      createdBy: step.created_by ?? '',
      comment: step.comment ?? '',
      emptyLayer: empty,
      layerIndex: index,
      layerDigest: layer?.digest ?? null,
      size: layer?.size ?? 0,
    });
  }
  if ((config.history ?? []).length > 0 && next !== layers.length) {
    return {
      rows,
      mismatch: `the history names ${next} layer-making steps but the manifest has ${layers.length} layers`,
    };
  }
  return { rows };
}

function detectBaseImage(
  rows: HistoryRow[],
  labels: Record<string, string>,
  options: AnalysisOptions,
): BaseImage | undefined {
  const base: BaseImage = { evidence: [] };
  const annotations = options.annotations ?? {};
  const name =
    annotations['org.opencontainers.image.base.name'] ?? labels['org.opencontainers.image.base.name'];
  const digest =
    annotations['org.opencontainers.image.base.digest'] ?? labels['org.opencontainers.image.base.digest'];
  if (name) {
    base.name = name;
    base.evidence.push('annotation org.opencontainers.image.base.name');
  }
  if (digest) {
    base.digest = digest;
    base.evidence.push('annotation org.opencontainers.image.base.digest');
  }
  // BuildKit marks the steps of the image's own Dockerfile; the steps before the first marked one are the
  // base image's (built elsewhere, by another tool or another build).
  const firstOwn = rows.findIndex((r) => r.comment === BUILDKIT_COMMENT);
  if (firstOwn > 0) {
    const baseRows = rows.slice(0, firstOwn);
    base.layers = baseRows.filter((r) => !r.emptyLayer).length;
    base.evidence.push(`history: ${firstOwn} steps before the first ${BUILDKIT_COMMENT} step`);
  }
  if (!base.name) {
    const rootfs = rows.find(
      (r) =>
        /ADD file:[0-9a-f]+ in \/\s*$/.test(r.createdBy) || /debian\.sh|alpine-minirootfs/.test(r.createdBy),
    );
    if (rootfs) {
      const creator = rootfs.createdBy.replace(/^\/bin\/sh -c (#\(nop\) )?/, '').trim();
      base.evidence.push(`history: root filesystem added by "${creator.slice(0, 80)}"`);
    }
  }
  if (options.os) {
    base.os =
      options.os.prettyName ?? `${options.os.id}${options.os.versionId ? ` ${options.os.versionId}` : ''}`;
    base.evidence.push('/etc/os-release');
    if (!base.name) {
      const tag = options.os.versionId ?? options.os.versionCodename;
      if (
        ['debian', 'ubuntu', 'alpine', 'fedora', 'almalinux', 'rockylinux', 'amazonlinux'].includes(
          options.os.id,
        )
      )
        base.name = tag ? `${options.os.id}:${tag}` : options.os.id;
    }
  }
  return base.evidence.length > 0 ? base : undefined;
}

function topBy<T>(items: Iterable<T>, size: (item: T) => number, count: number): T[] {
  // A bounded selection: the lists are small, the inputs may be hundreds of thousands of files.
  const kept: T[] = [];
  for (const item of items) {
    if (kept.length < count) {
      kept.push(item);
      if (kept.length === count) kept.sort((a, b) => size(b) - size(a));
      continue;
    }
    const last = kept[kept.length - 1] as T;
    if (size(item) <= size(last)) continue;
    kept[kept.length - 1] = item;
    for (let i = kept.length - 1; i > 0 && size(kept[i] as T) > size(kept[i - 1] as T); i -= 1) {
      [kept[i - 1], kept[i]] = [kept[i] as T, kept[i - 1] as T];
    }
  }
  return kept.sort((a, b) => size(b) - size(a));
}

/**
 * The analysis of a merged image: layers with their changes, history aligned, wasted bytes (files a later
 * layer overwrites or removes, identical content shipped more than once), efficiency, the largest files
 * and folders, and a guess at the base image. Pure over what the layer pass recorded.
 */
export function analyzeImage(
  fs: ImageFilesystem,
  scans: Omit<LayerScan, 'entries'>[],
  config: AnalyzedConfig,
  options: AnalysisOptions = {},
): AnalysisReport {
  const top = options.top ?? 20;
  const { rows, mismatch } = alignHistory(
    config,
    scans.map((s) => ({ digest: s.digest, size: s.compressedSize })),
  );
  const wastedByLayer = new Map<number, number>();
  const wastedByPath = new Map<string, WastedFile>();
  let shippedFileBytes = 0;
  let overwrittenOrRemoved = 0;
  for (const record of fs.records) {
    if (record.type !== 'file') continue;
    shippedFileBytes += record.size;
    if (!record.removedLater || !record.hiddenBy) continue;
    overwrittenOrRemoved += record.size;
    wastedByLayer.set(record.layerIndex, (wastedByLayer.get(record.layerIndex) ?? 0) + record.size);
    if (record.size === 0) continue;
    let wasted = wastedByPath.get(record.path);
    if (!wasted) {
      wasted = { path: record.path, wastedBytes: 0, layers: [], how: [] };
      wastedByPath.set(record.path, wasted);
    }
    wasted.wastedBytes += record.size;
    wasted.layers.push(record.layerIndex);
    wasted.how.push(record.hiddenBy.how);
  }
  let finalFileBytes = 0;
  let finalFiles = 0;
  const byHash = new Map<string, DuplicateContent>();
  const finalFileRecords: { path: string; size: number; layerIndex: number }[] = [];
  for (const record of fs.visible()) {
    if (record.type !== 'file') continue;
    finalFileBytes += record.size;
    finalFiles += 1;
    finalFileRecords.push({ path: record.path, size: record.size, layerIndex: record.layerIndex });
    if (record.hash && record.size > 0) {
      let group = byHash.get(record.hash);
      if (!group) {
        group = { hash: record.hash, size: record.size, paths: [], wastedBytes: 0 };
        byHash.set(record.hash, group);
      }
      group.paths.push({ path: record.path, layerIndex: record.layerIndex });
    }
  }
  // Identical bytes at several paths count when they come from different layers: within one layer a hard
  // link would have done, but across layers it is the classic "COPY the same file twice" waste.
  const duplicates: DuplicateContent[] = [];
  let duplicateBytes = 0;
  for (const group of byHash.values()) {
    if (group.paths.length < 2) continue;
    const layers = new Set(group.paths.map((p) => p.layerIndex));
    if (layers.size < 2) continue;
    group.wastedBytes = group.size * (group.paths.length - 1);
    duplicateBytes += group.wastedBytes;
    duplicates.push(group);
  }
  duplicates.sort((a, b) => b.wastedBytes - a.wastedBytes || a.hash.localeCompare(b.hash));
  const folders = fs.folderSizes();
  const labels = config.config?.Labels ?? {};
  const layerReports: LayerReport[] = scans.map((scan) => {
    const change = fs.changes.find((c) => c.index === scan.index);
    const history = rows.find((r) => r.layerIndex === scan.index);
    return {
      index: scan.index,
      digest: scan.digest,
      mediaType: scan.mediaType,
      compression: scan.compression,
      compressedSize: scan.compressedSize,
      uncompressedSize: scan.uncompressedSize,
      createdBy: history?.createdBy ?? '',
      entries: change?.entries ?? 0,
      files: change?.files ?? 0,
      fileBytes: change?.fileBytes ?? 0,
      added: change?.added ?? 0,
      addedBytes: change?.addedBytes ?? 0,
      changed: change?.changed ?? 0,
      changedBytes: change?.changedBytes ?? 0,
      removed: change?.removed ?? 0,
      removedBytes: change?.removedBytes ?? 0,
      wastedBytes: wastedByLayer.get(scan.index) ?? 0,
      incomplete: scan.incomplete,
    };
  });
  const base = detectBaseImage(rows, labels, options);
  return {
    layers: layerReports,
    history: rows,
    ...(mismatch ? { historyMismatch: mismatch } : {}),
    totals: {
      compressedSize: scans.reduce((sum, s) => sum + s.compressedSize, 0),
      uncompressedSize: scans.reduce((sum, s) => sum + s.uncompressedSize, 0),
      shippedFileBytes,
      finalFileBytes,
      finalFiles,
      wastedBytes: overwrittenOrRemoved + duplicateBytes,
      overwrittenOrRemovedBytes: overwrittenOrRemoved,
      duplicateBytes,
      efficiency: shippedFileBytes === 0 ? 1 : finalFileBytes / shippedFileBytes,
    },
    wastedFiles: topBy(wastedByPath.values(), (w) => w.wastedBytes, top),
    duplicates: duplicates.slice(0, top),
    largestFiles: topBy(finalFileRecords, (f) => f.size, top),
    largestFolders: topBy(
      [...folders]
        .filter(([path]) => path !== '/')
        .map(([path, v]) => ({ path, bytes: v.bytes, files: v.files })),
      (f) => f.bytes,
      top,
    ),
    ...(base ? { baseImage: base } : {}),
    issues: [...scans.flatMap((s) => s.issues), ...fs.issues],
  };
}
