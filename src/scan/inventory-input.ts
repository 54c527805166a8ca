import type { ImageFilesystem } from './image-filesystem.js';
import { parseGoBuildInfo } from './sbom/go-reader.js';
import type { GoBinaryInfo, InventoryFile, InventoryInput, ScanIssue } from './types.js';

/**
 * The inventory readers' input from a merged image: the kept files still visible in the final filesystem
 * (a package database a later layer deleted or replaced does not count) and the Go binaries' build info.
 */
export function inventoryInputFrom(fs: ImageFilesystem): { input: InventoryInput; issues: ScanIssue[] } {
  const files = new Map<string, InventoryFile>();
  const goBinaries: GoBinaryInfo[] = [];
  const issues: ScanIssue[] = [];
  for (const record of fs.visible()) {
    if (record.content) {
      files.set(record.path, {
        path: record.path,
        content: record.content,
        layerIndex: record.layerIndex,
        layerDigest: record.layerDigest,
      });
    }
    if (record.goBuildInfo) {
      const info = parseGoBuildInfo(record.goBuildInfo);
      if (info) {
        goBinaries.push({
          path: record.path,
          layerIndex: record.layerIndex,
          layerDigest: record.layerDigest,
          goVersion: info.goVersion,
          modInfo: info.modInfo,
        });
      } else {
        issues.push({
          code: 'GO_BUILDINFO_INVALID',
          message: `${record.path} has a Go build-info marker that could not be read (older than Go 1.18, or damaged)`,
          layerIndex: record.layerIndex,
          layerDigest: record.layerDigest,
          path: record.path,
        });
      }
    }
  }
  return { input: { files, goBinaries }, issues };
}
