import type { OsRelease } from '../types.js';

/**
 * Parses os-release(5) text: `KEY=value` lines, values unquoted or in single or double quotes (with
 * backslash escapes inside double quotes), `#` comments and blank lines ignored. Undefined without an ID.
 */
export function parseOsRelease(text: string): OsRelease | undefined {
  const fields = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    if (!/^[A-Z0-9_]+$/.test(key)) continue;
    fields.set(key, unquote(line.slice(eq + 1).trim()));
  }
  const id = fields.get('ID')?.toLowerCase();
  if (!id) return undefined;
  const os: OsRelease = { id };
  const versionId = fields.get('VERSION_ID');
  if (versionId) os.versionId = versionId;
  const codename = fields.get('VERSION_CODENAME');
  if (codename) os.versionCodename = codename;
  const pretty = fields.get('PRETTY_NAME');
  if (pretty) os.prettyName = pretty;
  return os;
}

function unquote(value: string): string {
  const q = value[0];
  if (q === "'") {
    const end = value.indexOf("'", 1);
    return end < 0 ? value.slice(1) : value.slice(1, end);
  }
  if (q !== '"') {
    // Unquoted values end at a comment.
    const hash = value.indexOf(' #');
    return hash < 0 ? value : value.slice(0, hash).trim();
  }
  let out = '';
  for (let i = 1; i < value.length; i++) {
    const c = value[i];
    if (c === '"') break;
    if (c === '\\' && i + 1 < value.length) {
      i++;
      out += value[i];
      continue;
    }
    out += c;
  }
  return out;
}

/**
 * The OS from the older release files when os-release is missing (very old images): `/etc/alpine-release`
 * holds `3.20.1`, `/etc/debian_version` `12.6`, `/etc/redhat-release` `… release 9.4 (Plow)`.
 */
export function osFromReleaseFile(path: string, text: string): OsRelease | undefined {
  const line = text.split(/\r?\n/)[0]?.trim() ?? '';
  if (line === '') return undefined;
  if (path === '/etc/alpine-release') return { id: 'alpine', versionId: line };
  if (path === '/etc/debian_version') {
    // Testing and unstable say `trixie/sid`: a codename, not a version.
    const major = /^(\d+)(?:\.|$)/.exec(line)?.[1];
    return major ? { id: 'debian', versionId: major } : { id: 'debian', versionCodename: line };
  }
  if (path === '/etc/redhat-release') {
    const version = /release\s+(\d+(?:\.\d+)*)/i.exec(line)?.[1];
    const lower = line.toLowerCase();
    const id = lower.startsWith('centos')
      ? 'centos'
      : lower.startsWith('fedora')
        ? 'fedora'
        : lower.startsWith('rocky')
          ? 'rocky'
          : lower.startsWith('almalinux')
            ? 'almalinux'
            : 'rhel';
    const os: OsRelease = { id, prettyName: line };
    if (version) os.versionId = version;
    return os;
  }
  return undefined;
}
