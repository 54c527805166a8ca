/**
 * The vocabulary shared by the quality gate: what a pass over an image's layers yields (files kept for the
 * inventory, findings about bad entries), the packages found in it, and the vulnerabilities matched to them.
 */

/** One file kept from the image's final filesystem because an inventory reader wants its bytes. */
export interface InventoryFile {
  /** Absolute, normalized path inside the image, e.g. `/var/lib/dpkg/status`. */
  path: string;
  /** The bytes of the file as the last layer that wrote it holds them. */
  content: Buffer;
  /** Index of the layer (0 = base) and its digest. */
  layerIndex: number;
  layerDigest: string;
}

/** A Go binary's embedded build information, found while streaming an executable. */
export interface GoBinaryInfo {
  path: string;
  layerIndex: number;
  layerDigest: string;
  /** The Go toolchain version, e.g. `go1.22.5`. */
  goVersion: string;
  /** The module information text (`path`, `mod`, `dep`, `=>` lines), sentinels removed. */
  modInfo: string;
}

/** The final filesystem's files an inventory reads, by path, plus Go binaries seen. */
export interface InventoryInput {
  files: ReadonlyMap<string, InventoryFile>;
  goBinaries: readonly GoBinaryInfo[];
}

/** Something wrong or odd found in a layer or an inventory file: reported, never fatal to the scan. */
/** The kind of one tar entry of a layer. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface ScanIssue {
  /** Stable code, e.g. `PATH_ABSOLUTE`, `PATH_TRAVERSAL`, `SYMLINK_OUTSIDE`, `HARDLINK_MISSING`, `DEVICE_FILE`, `LAYER_CORRUPT`, `DPKG_STANZA_INVALID`, `ADVISORY_INVALID`. */
  code: string;
  message: string;
  layerIndex?: number;
  layerDigest?: string;
  path?: string;
}

export type PackageType = 'deb' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'golang';

/** One installed package found in the image. */
export interface InstalledPackage {
  type: PackageType;
  name: string;
  version: string;
  /** The OS package's source package (dpkg `Source:`, apk origin, rpm source rpm name), when known. */
  sourceName?: string;
  sourceVersion?: string;
  arch?: string;
  licenses?: string[];
  /** Maintainer, author or vendor as the record gives it. */
  supplier?: string;
  description?: string;
  /** Package URL (purl), made with packageurl-js. */
  purl: string;
  /** The file the package was read from, e.g. `/var/lib/dpkg/status`. */
  location: string;
  layerIndex?: number;
  layerDigest?: string;
}

/** The operating system, from `/etc/os-release` (or `/usr/lib/os-release`). */
export interface OsRelease {
  /** `ID`, e.g. `debian`, `ubuntu`, `alpine`, `fedora`, `rhel`. */
  id: string;
  /** `VERSION_ID`, e.g. `12`, `3.20.1`, `40`. */
  versionId?: string;
  versionCodename?: string;
  prettyName?: string;
}

export interface Inventory {
  os?: OsRelease;
  packages: InstalledPackage[];
  issues: ScanIssue[];
}

/** The one severity order, highest first: `UNKNOWN` ranks below `LOW`. Compare with `scan/severity.ts`. */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One vulnerability affecting one installed package. */
export interface Finding {
  /** The advisory's id, e.g. `DSA-5678-1`, `GHSA-…`, `CVE-2024-1234`. */
  id: string;
  /** Its aliases (CVE ids among them). */
  aliases: string[];
  packageName: string;
  packageType: PackageType;
  installedVersion: string;
  /** The first fixed version, when the advisory names one. */
  fixedVersion?: string;
  severity: Severity;
  /** CVSS base score, when a vector or a score is known. */
  score?: number;
  /** The CVSS vector the score came from. */
  vector?: string;
  summary: string;
  purl: string;
  /** Where the package was found in the image. */
  location: string;
  /** The advisory's ecosystem, e.g. `Debian:12`, `npm`. */
  ecosystem: string;
  /** Advisory URL, when the record has one. */
  url?: string;
}
