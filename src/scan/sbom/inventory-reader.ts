import type { InstalledPackage, InventoryFile, ScanIssue } from '../types.js';

/** What one reader makes of its files: the packages it could read and what it could not. */
export interface ReaderResult {
  packages: InstalledPackage[];
  issues: ScanIssue[];
}

/** An issue about one inventory file, carrying its path and the layer that wrote it. */
export function fileIssue(file: InventoryFile, code: string, message: string): ScanIssue {
  return { code, message, path: file.path, layerIndex: file.layerIndex, layerDigest: file.layerDigest };
}

/** The location fields every package read from `file` carries. */
export function fileLocation(
  file: InventoryFile,
): Pick<InstalledPackage, 'location' | 'layerIndex' | 'layerDigest'> {
  return { location: file.path, layerIndex: file.layerIndex, layerDigest: file.layerDigest };
}
