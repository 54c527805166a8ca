import { PackageURL } from 'packageurl-js';
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

/** What an OS package database (dpkg, apk, rpm) says of one installed package; empty strings count as absent. */
export interface SystemPackageRecord {
  name: string;
  /** The version as the ecosystem compares it (rpm: with its epoch). */
  version: string;
  /** The version the purl carries, when it differs (rpm: without the epoch, which is a qualifier). */
  purlVersion?: string;
  /** Purl qualifiers besides `arch` and `distro` (rpm: `epoch`). */
  qualifiers?: Record<string, string>;
  arch?: string | undefined;
  sourceName?: string | undefined;
  sourceVersion?: string | undefined;
  license?: string | undefined;
  supplier?: string | undefined;
  description?: string | undefined;
}

/**
 * The package record of an OS package: its purl (`pkg:deb/debian/bash@5.2?arch=amd64&distro=debian-12`), the
 * fields the database gave, and where it was read.
 */
export function systemPackage(
  type: 'deb' | 'apk' | 'rpm',
  record: SystemPackageRecord,
  namespace: string | undefined,
  distro: string | undefined,
  file: InventoryFile,
): InstalledPackage {
  const qualifiers: Record<string, string> = {};
  if (record.arch) qualifiers.arch = record.arch;
  Object.assign(qualifiers, record.qualifiers);
  if (distro) qualifiers.distro = distro;
  const pkg: InstalledPackage = {
    type,
    name: record.name,
    version: record.version,
    ...(record.sourceName ? { sourceName: record.sourceName } : {}),
    ...(record.sourceName && record.sourceVersion ? { sourceVersion: record.sourceVersion } : {}),
    purl: new PackageURL(
      type,
      namespace,
      record.name,
      record.purlVersion ?? record.version,
      qualifiers,
      undefined,
    ).toString(),
    ...fileLocation(file),
  };
  if (record.arch) pkg.arch = record.arch;
  if (record.license) pkg.licenses = [record.license];
  if (record.supplier) pkg.supplier = record.supplier;
  if (record.description) pkg.description = record.description;
  return pkg;
}
