/**
 * SPDX license expressions for documents: package records name licenses freely (`MIT`, `GPLv2+`,
 * `Apache License 2.0`, whole license texts), and SBOM schemas accept only valid expressions over listed
 * ids. We keep a hand-written table of the ids that turn up in distributions and registries; any other
 * text is reported as unknown and the document writers turn it into a LicenseRef or NOASSERTION.
 */

const LICENSE_IDS = [
  '0BSD',
  'AFL-2.1',
  'AFL-3.0',
  'AGPL-3.0-only',
  'AGPL-3.0-or-later',
  'Apache-1.1',
  'Apache-2.0',
  'APSL-2.0',
  'Artistic-1.0',
  'Artistic-1.0-Perl',
  'Artistic-2.0',
  'BlueOak-1.0.0',
  'BSD-1-Clause',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'BSD-4-Clause',
  'BSD-Source-Code',
  'BSL-1.0',
  'bzip2-1.0.6',
  'CC-BY-3.0',
  'CC-BY-4.0',
  'CC-BY-SA-3.0',
  'CC-BY-SA-4.0',
  'CC0-1.0',
  'CDDL-1.0',
  'CDDL-1.1',
  'CPL-1.0',
  'curl',
  'ECL-2.0',
  'EPL-1.0',
  'EPL-2.0',
  'EUPL-1.1',
  'EUPL-1.2',
  'FSFAP',
  'FSFUL',
  'FSFULLR',
  'FTL',
  'GFDL-1.2-only',
  'GFDL-1.2-or-later',
  'GFDL-1.3-only',
  'GFDL-1.3-or-later',
  'GPL-1.0-only',
  'GPL-1.0-or-later',
  'GPL-2.0-only',
  'GPL-2.0-or-later',
  'GPL-3.0-only',
  'GPL-3.0-or-later',
  'HPND',
  'ICU',
  'IJG',
  'Info-ZIP',
  'IPL-1.0',
  'ISC',
  'LGPL-2.0-only',
  'LGPL-2.0-or-later',
  'LGPL-2.1-only',
  'LGPL-2.1-or-later',
  'LGPL-3.0-only',
  'LGPL-3.0-or-later',
  'Libpng',
  'libpng-2.0',
  'libtiff',
  'LPPL-1.3c',
  'MIT',
  'MIT-0',
  'MIT-CMU',
  'MPL-1.1',
  'MPL-2.0',
  'MPL-2.0-no-copyleft-exception',
  'MS-PL',
  'NCSA',
  'NTP',
  'OFL-1.1',
  'OLDAP-2.8',
  'OpenSSL',
  'PHP-3.01',
  'PostgreSQL',
  'PSF-2.0',
  'Python-2.0',
  'Ruby',
  'Sleepycat',
  'TCL',
  'Unicode-3.0',
  'Unicode-DFS-2016',
  'Unlicense',
  'UPL-1.0',
  'Vim',
  'W3C',
  'WTFPL',
  'X11',
  'Zlib',
  'ZPL-2.1',
  // Deprecated ids are still valid in expressions and common in older metadata.
  'GPL-2.0',
  'GPL-3.0',
  'LGPL-2.0',
  'LGPL-2.1',
  'LGPL-3.0',
  'AGPL-3.0',
  'GFDL-1.3',
] as const;

const EXCEPTION_IDS = [
  'Autoconf-exception-2.0',
  'Autoconf-exception-3.0',
  'Bison-exception-2.2',
  'Classpath-exception-2.0',
  'Font-exception-2.0',
  'GCC-exception-2.0',
  'GCC-exception-3.1',
  'LLVM-exception',
  'OpenJDK-assembly-exception-1.0',
  'openvpn-openssl-exception',
] as const;

/** The SPDX license ids this module knows, for writers that must tell ids from other names. */
export const KNOWN_LICENSE_IDS: ReadonlySet<string> = new Set(LICENSE_IDS);
export const KNOWN_EXCEPTION_IDS: ReadonlySet<string> = new Set(EXCEPTION_IDS);

const BY_LOWER = new Map<string, string>(LICENSE_IDS.map((id) => [id.toLowerCase(), id]));
const EXCEPTION_BY_LOWER = new Map<string, string>(EXCEPTION_IDS.map((id) => [id.toLowerCase(), id]));

// Names package records use for listed licenses (Fedora's old short names, Python classifiers, prose).
const ALIASES = new Map<string, string>([
  ['mit license', 'MIT'],
  ['the mit license', 'MIT'],
  ['expat', 'MIT'],
  ['asl 2.0', 'Apache-2.0'],
  ['apache 2.0', 'Apache-2.0'],
  ['apache-2', 'Apache-2.0'],
  ['apache license 2.0', 'Apache-2.0'],
  ['apache license, version 2.0', 'Apache-2.0'],
  ['apache software license 2.0', 'Apache-2.0'],
  ['gplv2', 'GPL-2.0-only'],
  ['gplv2+', 'GPL-2.0-or-later'],
  ['gplv3', 'GPL-3.0-only'],
  ['gplv3+', 'GPL-3.0-or-later'],
  ['lgplv2', 'LGPL-2.0-only'],
  ['lgplv2+', 'LGPL-2.0-or-later'],
  ['lgplv2.1', 'LGPL-2.1-only'],
  ['lgplv2.1+', 'LGPL-2.1-or-later'],
  ['lgplv3', 'LGPL-3.0-only'],
  ['lgplv3+', 'LGPL-3.0-or-later'],
  ['isc license', 'ISC'],
  ['isc license (iscl)', 'ISC'],
  ['mozilla public license 2.0 (mpl 2.0)', 'MPL-2.0'],
  ['mpl 2.0', 'MPL-2.0'],
  ['mplv2.0', 'MPL-2.0'],
  ['python software foundation license', 'PSF-2.0'],
  ['psf', 'PSF-2.0'],
  ['zlib/libpng license', 'Zlib'],
  ['public domain', 'LicenseRef-Public-Domain'],
]);

/**
 * The valid SPDX expression `text` stands for, or undefined. Accepts an expression over known ids
 * (`+`, `WITH`, `AND`, `OR`, parentheses; any case for ids and operators) or a known alias.
 */
export function toSpdxExpression(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const alias = ALIASES.get(trimmed.toLowerCase());
  if (alias) return alias;
  const tokens = trimmed.match(/\(|\)|[^\s()]+/g) ?? [];
  let pos = 0;
  const out: string[] = [];
  // expression := term ((AND|OR) term)* ; term := '(' expression ')' | id['+'] [WITH exception]
  const term = (): boolean => {
    const token = tokens[pos];
    if (token === '(') {
      pos++;
      out.push('(');
      if (!expression() || tokens[pos] !== ')') return false;
      pos++;
      out.push(')');
      return true;
    }
    if (token === undefined) return false;
    const plus = token.endsWith('+') && token.length > 1;
    const bare = plus ? token.slice(0, -1) : token;
    const id =
      BY_LOWER.get(bare.toLowerCase()) ?? (/^LicenseRef-[A-Za-z0-9.-]+$/.test(bare) ? bare : undefined);
    if (!id) return false;
    pos++;
    let value = plus ? `${id}+` : id;
    if (tokens[pos]?.toUpperCase() === 'WITH') {
      const exception = EXCEPTION_BY_LOWER.get(tokens[pos + 1]?.toLowerCase() ?? '');
      if (!exception) return false;
      pos += 2;
      value = `${value} WITH ${exception}`;
    }
    out.push(value);
    return true;
  };
  const expression = (): boolean => {
    if (!term()) return false;
    for (;;) {
      const op = tokens[pos]?.toUpperCase();
      if (op !== 'AND' && op !== 'OR') return true;
      pos++;
      out.push(op);
      if (!term()) return false;
    }
  };
  if (!expression() || pos !== tokens.length) return undefined;
  return out.join(' ').replace(/\( /g, '(').replace(/ \)/g, ')');
}

/** True when an expression is a single listed id (what CycloneDX's `license.id` accepts). */
export function isSingleLicenseId(expression: string): boolean {
  return KNOWN_LICENSE_IDS.has(expression);
}

/** A LicenseRef id built from free text: only letters, digits, `.` and `-`. */
export function licenseRefFor(text: string): string {
  const safe = text
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);
  return `LicenseRef-${safe === '' ? 'unknown' : safe}`;
}
