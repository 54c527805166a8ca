import { compareApkVersions, isValidApkVersion } from './apk-version.js';
import { compareDpkgVersions, isValidDpkgVersion } from './dpkg-version.js';
import { comparePep440, isValidPep440 } from './pep440-version.js';
import { compareRpmVersions, isValidRpmVersion } from './rpm-version.js';
import { compareSemver, isValidSemver } from './semver-version.js';

/** How one ecosystem orders its versions. */
export interface VersionScheme {
  /** `dpkg`, `apk`, `rpm`, `semver` or `pep440`. */
  readonly name: string;
  compare(a: string, b: string): number;
  isValid(version: string): boolean;
}

export const DPKG: VersionScheme = {
  name: 'dpkg',
  compare: compareDpkgVersions,
  isValid: isValidDpkgVersion,
};
export const APK: VersionScheme = { name: 'apk', compare: compareApkVersions, isValid: isValidApkVersion };
export const RPM: VersionScheme = { name: 'rpm', compare: compareRpmVersions, isValid: isValidRpmVersion };
export const SEMVER: VersionScheme = { name: 'semver', compare: compareSemver, isValid: isValidSemver };
export const PEP440: VersionScheme = { name: 'pep440', compare: comparePep440, isValid: isValidPep440 };

/**
 * OSV ecosystems by the part before the first `:` (`Debian:12` → `Debian`). Only ecosystems whose ordering we
 * implement are listed; Maven, NuGet, RubyGems, Packagist and the rest have their own rules and are unknown here.
 */
const BY_ECOSYSTEM: ReadonlyMap<string, VersionScheme> = new Map([
  ['Debian', DPKG],
  ['Ubuntu', DPKG],
  ['Alpine', APK],
  ['Wolfi', APK],
  ['Chainguard', APK],
  ['Alpaquita', APK],
  ['BellSoft Hardened Containers', APK],
  ['Red Hat', RPM],
  ['Rocky Linux', RPM],
  ['AlmaLinux', RPM],
  ['openSUSE', RPM],
  ['SUSE', RPM],
  ['Mageia', RPM],
  ['openEuler', RPM],
  ['Photon OS', RPM],
  ['npm', SEMVER],
  ['crates.io', SEMVER],
  ['Go', SEMVER],
  ['Hex', SEMVER],
  ['Pub', SEMVER],
  ['PyPI', PEP440],
]);

/** The OSV ecosystems (base names) whose versions Berth can order, so whose advisories it can match. */
export function knownEcosystems(): string[] {
  return [...BY_ECOSYSTEM.keys()];
}

/** The part of an OSV ecosystem string that names the ecosystem: `Ubuntu:22.04:LTS` → `Ubuntu`. */
export function ecosystemBase(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon < 0 ? ecosystem : ecosystem.slice(0, colon);
}

/** The version ordering of an OSV ecosystem, or undefined when we do not know it (never a guess). */
export function versionSchemeFor(ecosystem: string): VersionScheme | undefined {
  return BY_ECOSYSTEM.get(ecosystemBase(ecosystem));
}

/** The name under which an ecosystem's advisories are looked up: PyPI names as PEP 503 normalizes them. */
export function packageNameKey(ecosystem: string, name: string): string {
  if (ecosystemBase(ecosystem) === 'PyPI')
    return name
      .trim()
      .toLowerCase()
      .replace(/[-_.]+/g, '-');
  return name;
}
