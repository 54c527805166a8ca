import type { ImageConfig } from '../oci/image-config.js';
import type { Descriptor } from '../oci/manifest.js';
import { inventoryInputFrom } from '../scan/inventory-input.js';
import { type AnalysisReport, analyzeImage } from '../scan/layer-analysis.js';
import { isInventoryFile, MAX_INVENTORY_FILE_SIZE } from '../scan/sbom/inventory-files.js';
import { detectOs, readInventory } from '../scan/sbom/read-inventory.js';
import type { Inventory, ScanIssue } from '../scan/types.js';
import { readImageConfig, resolveImage } from './image-resolution.js';
import { type LayerPassResult, passOverLayers } from './layer-pass.js';
import type { ImageSource, ManifestBlob } from './sources/image-source.js';

export interface ExaminationOptions {
  platform?: string;
  /** Hash file contents and build the analysis report. */
  analysis?: boolean;
  /** How many entries the analysis's top lists keep. */
  top?: number;
  /** Keep package databases and look for Go build info, and read the inventory. */
  inventory?: boolean;
  /** Read the layers at all (policy checks on metadata alone do not need them). Default true. */
  layers?: boolean;
  signal?: AbortSignal;
  onLayer?: (scan: { index: number; digest: string; uncompressedSize: number }) => void;
}

/** What one pass over an image found: the quality gate's raw material. */
export interface ImageExamination {
  description: string;
  /** Digest of the top manifest (an index's, for a multi-platform image). */
  digest: string;
  /** The image manifest examined. */
  image: ManifestBlob;
  platform?: string;
  config: ImageConfig;
  configDescriptor: Descriptor;
  layers: Descriptor[];
  annotations: Record<string, string>;
  pass?: LayerPassResult;
  analysis?: AnalysisReport;
  inventory?: Inventory;
  /** Everything odd found on the way (bad entries, corrupt layers, unreadable package records). */
  issues: ScanIssue[];
  /** A layer could not be read: file checks and the inventory miss what it held. */
  incomplete: boolean;
}

/**
 * Resolves the image (one platform of an index), reads its config, and streams each layer once for
 * everything asked: analysis, inventory, the file list policy checks walk.
 */
export async function examineImage(
  source: ImageSource,
  options: ExaminationOptions = {},
): Promise<ImageExamination> {
  const { top, image } = await resolveImage(source, options.platform);
  const { descriptor, config, layers, annotations } = await readImageConfig(source, image);
  const platform =
    config.os && config.architecture
      ? `${config.os}/${config.architecture}${config.variant ? `/${config.variant}` : ''}`
      : undefined;
  const result: ImageExamination = {
    description: source.description,
    digest: top.digest,
    image,
    ...(platform ? { platform } : {}),
    config,
    configDescriptor: descriptor,
    layers,
    annotations,
    issues: [],
    incomplete: false,
  };
  if (options.layers === false) return result;
  const wantInventory = options.inventory === true;
  const pass = await passOverLayers(source, layers, {
    hashContents: options.analysis === true,
    findGoBuildInfo: wantInventory,
    ...(wantInventory
      ? { keepContent: isInventoryFile, maxContentSize: MAX_INVENTORY_FILE_SIZE }
      : { keepContent: (path: string) => path === '/etc/os-release' || path === '/usr/lib/os-release' }),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onLayer ? { onLayer: options.onLayer } : {}),
  });
  result.pass = pass;
  result.incomplete = pass.incomplete;
  result.issues.push(...pass.issues);
  const { input, issues } = inventoryInputFrom(pass.fs);
  let os = detectOs(input.files);
  if (wantInventory) {
    const inventory = readInventory(input);
    result.inventory = inventory;
    result.issues.push(...issues, ...inventory.issues);
    os = inventory.os;
  }
  if (options.analysis) {
    result.analysis = analyzeImage(pass.fs, pass.scans, config, {
      annotations,
      ...(options.top !== undefined ? { top: options.top } : {}),
      ...(os ? { os } : {}),
    });
  }
  return result;
}
