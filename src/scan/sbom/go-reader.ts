import { PackageURL } from 'packageurl-js';
import type { GoBinaryInfo, InstalledPackage } from '../types.js';
import type { ReaderResult } from './inventory-reader.js';

/** The bytes a Go linker puts at the start of the build info blob. */
export const GO_BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
// Flag bit set by Go 1.18+ linkers: the version and modinfo strings follow the header inline.
const FLAG_INLINE_STRINGS = 2;
const SENTINEL_SIZE = 16;

/**
 * Parses a Go ≥1.18 build info blob given from its magic onwards: the 32-byte header (magic, pointer
 * size, flags), then two varint-length-prefixed strings, the Go version and the module info, whose
 * 16-byte start and end sentinels are removed. Undefined for anything else, including the pre-1.18
 * layout, whose strings sit behind pointers the walker cannot follow.
 */
export function parseGoBuildInfo(bytes: Buffer): { goVersion: string; modInfo: string } | undefined {
  if (
    bytes.length < HEADER_SIZE ||
    !bytes.subarray(0, GO_BUILDINFO_MAGIC.length).equals(GO_BUILDINFO_MAGIC)
  ) {
    return undefined;
  }
  const flags = bytes[15] as number;
  if ((flags & FLAG_INLINE_STRINGS) === 0) return undefined;
  const version = readVarintBytes(bytes, HEADER_SIZE);
  if (!version || version.value.length === 0) return undefined;
  const mod = readVarintBytes(bytes, version.next);
  if (!mod) return undefined;
  // The module text is framed by binary sentinels (cut by byte count before decoding); the end one starts
  // right after the text's final newline.
  const raw = mod.value;
  const framed = raw.length >= 2 * SENTINEL_SIZE + 1 && raw[raw.length - SENTINEL_SIZE - 1] === 0x0a;
  const modInfo = framed ? raw.toString('utf8', SENTINEL_SIZE, raw.length - SENTINEL_SIZE) : '';
  return { goVersion: version.value.toString('utf8'), modInfo };
}

function readVarintBytes(bytes: Buffer, at: number): { value: Buffer; next: number } | undefined {
  let length = 0;
  let shift = 0;
  let pos = at;
  for (;;) {
    if (pos >= bytes.length || shift > 28) return undefined;
    const b = bytes[pos++] as number;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  if (pos + length > bytes.length) return undefined;
  return { value: bytes.subarray(pos, pos + length), next: pos + length };
}

/**
 * Packages of one Go binary: the main module (unless its version is `(devel)`), every dependency (a `=>`
 * line replaces the dependency before it), and the toolchain as `stdlib` at the Go version.
 */
export function readGoBinary(info: GoBinaryInfo): ReaderResult {
  const result: ReaderResult = { packages: [], issues: [] };
  const modules: { path: string; version: string }[] = [];
  for (const line of info.modInfo.split('\n')) {
    const fields = line.split('\t');
    const kind = fields[0];
    const path = fields[1];
    const version = fields[2] ?? '';
    if (!path) continue;
    if (kind === 'mod' || kind === 'dep') {
      modules.push({ path, version });
    } else if (kind === '=>' && modules.length > 0) {
      // A replacement by a local directory has no version; the module keeps the one it was required at.
      const replaced = modules[modules.length - 1] as { path: string; version: string };
      modules[modules.length - 1] = version ? { path, version } : replaced;
    }
  }
  for (const { path, version } of modules) {
    if (version === '' || version === '(devel)') continue;
    result.packages.push(goPackage(path, version, info));
  }
  const goVersion = /^go(\d+(?:\.\d+)*)/.exec(info.goVersion)?.[1];
  if (goVersion) result.packages.push(goPackage('stdlib', `v${goVersion}`, info));
  return result;
}

function goPackage(path: string, version: string, info: GoBinaryInfo): InstalledPackage {
  const slash = path.lastIndexOf('/');
  const namespace = slash > 0 ? path.slice(0, slash) : undefined;
  const name = slash > 0 ? path.slice(slash + 1) : path;
  return {
    type: 'golang',
    name: path,
    version,
    purl: new PackageURL('golang', namespace, name, version, undefined, undefined).toString(),
    location: info.path,
    layerIndex: info.layerIndex,
    layerDigest: info.layerDigest,
  };
}
