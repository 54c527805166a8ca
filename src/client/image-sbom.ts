import { type SbomImage, toCycloneDxJson, toSpdxJson } from '../scan/sbom/sbom-document.js';
import type { Inventory, ScanIssue } from '../scan/types.js';
import { examineImage } from './image-examination.js';
import type { ImageLocation } from './image-location.js';
import { withImageSource } from './image-source-scope.js';
import { BERTH_VERSION } from './scan-image.js';
import type { SessionSettings } from './session-settings.js';

export interface ImageSbomOptions {
  location: ImageLocation;
  session: SessionSettings;
  platform?: string | undefined;
  onLayer?: (scan: { index: number; uncompressedSize: number }) => void;
}

/** The software installed in an image, read from its final filesystem. */
export interface ImageSbom {
  /** The packages, with the image's issues (a damaged layer is reported and the rest listed). */
  inventory: Inventory;
  /** The image as SBOM documents name it. */
  image: SbomImage;
  /** The image as the command named it, and the digest and platform read. */
  description: string;
  digest: string;
  platform?: string | undefined;
  issues: ScanIssue[];
  /** A layer could not be read: the inventory lacks what it held. */
  incomplete: boolean;
}

/** Reads an image's package inventory (dpkg, apk, rpm, npm, Python, Go binaries). */
export async function readImageSbom(options: ImageSbomOptions): Promise<ImageSbom> {
  return withImageSource(options.location, options.session, async (source) => {
    const exam = await examineImage(source, {
      inventory: true,
      ...(options.onLayer ? { onLayer: options.onLayer } : {}),
      ...(options.platform ? { platform: options.platform } : {}),
    });
    const inventory = exam.inventory ?? { packages: [], issues: [] };
    inventory.issues = exam.issues;
    const created = exam.config.created ? new Date(exam.config.created) : undefined;
    return {
      inventory,
      image: {
        name: exam.description.replace(/^docker:\/\//, ''),
        digest: exam.digest,
        toolVersion: BERTH_VERSION,
        ...(created && !Number.isNaN(created.getTime()) ? { created } : {}),
      },
      description: exam.description,
      digest: exam.digest,
      platform: exam.platform,
      issues: exam.issues,
      incomplete: exam.incomplete,
    };
  });
}

export type SbomStandard = 'spdx-json' | 'cyclonedx-json';

/** The inventory as an SPDX 2.3 or CycloneDX 1.5 JSON document. */
export function sbomDocument(sbom: ImageSbom, standard: SbomStandard): object {
  return standard === 'spdx-json'
    ? toSpdxJson(sbom.inventory, sbom.image)
    : toCycloneDxJson(sbom.inventory, sbom.image);
}
