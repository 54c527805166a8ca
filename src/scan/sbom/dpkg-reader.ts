import type { InstalledPackage, InventoryFile, OsRelease } from '../types.js';
import { fileIssue, type ReaderResult, systemPackage } from './inventory-reader.js';

/** One RFC 822 stanza: fields by lower-cased name, the line it starts on, and its first bad line if any. */
interface Stanza {
  line: number;
  fields: Map<string, string>;
  badLine?: number;
}

/** Splits control-file text into stanzas; continuation lines (leading space or tab) join their field. */
export function parseStanzas(text: string): Stanza[] {
  const stanzas: Stanza[] = [];
  let current: Stanza | undefined;
  let last: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    const lineNo = i + 1;
    if (line.trim() === '') {
      current = undefined;
      last = undefined;
      continue;
    }
    if (!current) {
      current = { line: lineNo, fields: new Map() };
      stanzas.push(current);
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (last === undefined) current.badLine ??= lineNo;
      else current.fields.set(last, `${current.fields.get(last)}\n${line.slice(1)}`);
      continue;
    }
    // Field names are printable ASCII without a colon and do not start with `#` or `-`.
    const match = /^([!-9;-~][!-9;-~]*):[ \t]*(.*)$/.exec(line);
    if (!match || line[0] === '#' || line[0] === '-') {
      current.badLine ??= lineNo;
      last = undefined;
      continue;
    }
    last = (match[1] as string).toLowerCase();
    current.fields.set(last, (match[2] as string).trimEnd());
  }
  return stanzas;
}

/**
 * Reads `/var/lib/dpkg/status` (only packages whose Status says installed) or a distroless
 * `/var/lib/dpkg/status.d/NAME` file (no Status field: everything in it is installed).
 */
export function readDpkgStatus(file: InventoryFile, os?: OsRelease): ReaderResult {
  const result: ReaderResult = { packages: [], issues: [] };
  const needsStatus = !file.path.startsWith('/var/lib/dpkg/status.d/');
  const namespace = os?.id === 'ubuntu' ? 'ubuntu' : 'debian';
  const distro = os?.versionId ? `${os.id}-${os.versionId}` : undefined;
  for (const stanza of parseStanzas(file.content.toString('utf8'))) {
    const name = stanza.fields.get('package');
    const version = stanza.fields.get('version');
    if (stanza.badLine !== undefined || !name || !version || /\s/.test(name) || /\s/.test(version)) {
      const why =
        stanza.badLine !== undefined
          ? `line ${stanza.badLine} is not a field`
          : !name
            ? 'no Package field'
            : !version
              ? 'no Version field'
              : 'Package or Version holds spaces';
      result.issues.push(
        fileIssue(file, 'DPKG_STANZA_INVALID', `dpkg stanza at line ${stanza.line} skipped: ${why}`),
      );
      continue;
    }
    if (needsStatus && !isInstalled(stanza.fields.get('status'))) continue;
    result.packages.push(toPackage(stanza.fields, name, version, namespace, distro, file));
  }
  return result;
}

// `want ok state`: only a package whose state is `installed` has its files on disk.
function isInstalled(status: string | undefined): boolean {
  const words = status?.split(/\s+/) ?? [];
  return words.length === 3 && words[1] === 'ok' && words[2] === 'installed';
}

function toPackage(
  fields: Map<string, string>,
  name: string,
  version: string,
  namespace: string,
  distro: string | undefined,
  file: InventoryFile,
): InstalledPackage {
  const source = /^(\S+)(?:\s+\((\S+)\))?/.exec(fields.get('source') ?? '');
  const record = {
    name,
    version,
    arch: fields.get('architecture'),
    sourceName: source?.[1] ?? name,
    sourceVersion: source?.[2] ?? version,
    supplier: fields.get('maintainer'),
    description: fields.get('description')?.split('\n')[0],
  };
  return systemPackage('deb', record, namespace, distro, file);
}
