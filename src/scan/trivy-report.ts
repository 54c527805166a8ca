import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { z } from 'zod';
import { BerthError } from '../oci/errors.js';
import { compareFindings, parseSeverity } from './severity.js';
import type { Finding, PackageType, ScanIssue, Severity } from './types.js';
import { versionSchemeFor } from './versions/ecosystem-version.js';

/**
 * `--scanner trivy`: run Trivy on an image archive and map its JSON report (SchemaVersion 2) into Berth's
 * findings, so filters, `--fail-on` and every output format work the same whichever scanner ran.
 */

const cvssSchema = z.looseObject({
  V2Vector: z.string().optional(),
  V3Vector: z.string().optional(),
  V40Vector: z.string().optional(),
  V2Score: z.number().optional(),
  V3Score: z.number().optional(),
  V40Score: z.number().optional(),
});

const vulnerabilitySchema = z.looseObject({
  VulnerabilityID: z.string().min(1),
  VendorIDs: z.array(z.string()).optional(),
  PkgID: z.string().optional(),
  PkgName: z.string().min(1),
  PkgPath: z.string().optional(),
  PkgIdentifier: z.looseObject({ PURL: z.string().optional(), UID: z.string().optional() }).optional(),
  InstalledVersion: z.string().optional(),
  FixedVersion: z.string().optional(),
  Status: z.string().optional(),
  SeveritySource: z.string().optional(),
  PrimaryURL: z.string().optional(),
  Title: z.string().optional(),
  Description: z.string().optional(),
  Severity: z.string().optional(),
  CVSS: z.record(z.string(), cvssSchema).optional(),
});

const resultSchema = z.looseObject({
  Target: z.string().optional(),
  Class: z.string().optional(),
  Type: z.string().optional(),
  Vulnerabilities: z.array(z.unknown()).nullish(),
});

export const trivyReportSchema = z.looseObject({
  SchemaVersion: z.literal(2),
  ArtifactName: z.string().optional(),
  Metadata: z
    .looseObject({
      OS: z.looseObject({ Family: z.string().optional(), Name: z.string().optional() }).optional(),
    })
    .optional(),
  Results: z.array(resultSchema).nullish(),
});

export type TrivyReport = z.infer<typeof trivyReportSchema>;
type TrivyVulnerability = z.infer<typeof vulnerabilitySchema>;

/** Trivy's result `Type` to our package type; types with no counterpart here are reported and left out. */
const PACKAGE_TYPES: Record<string, PackageType> = {
  debian: 'deb',
  ubuntu: 'deb',
  alpine: 'apk',
  wolfi: 'apk',
  chainguard: 'apk',
  redhat: 'rpm',
  centos: 'rpm',
  rocky: 'rpm',
  alma: 'rpm',
  fedora: 'rpm',
  amazon: 'rpm',
  oracle: 'rpm',
  'cbl-mariner': 'rpm',
  azurelinux: 'rpm',
  photon: 'rpm',
  suse: 'rpm',
  'opensuse.leap': 'rpm',
  'opensuse.tumbleweed': 'rpm',
  'suse linux enterprise server': 'rpm',
  'node-pkg': 'npm',
  npm: 'npm',
  yarn: 'npm',
  pnpm: 'npm',
  bun: 'npm',
  'python-pkg': 'pypi',
  pip: 'pypi',
  pipenv: 'pypi',
  poetry: 'pypi',
  uv: 'pypi',
  gobinary: 'golang',
  gomod: 'golang',
};

const LANGUAGE_ECOSYSTEMS: Record<string, string> = { npm: 'npm', pypi: 'PyPI', golang: 'Go' };

/** The OSV-style ecosystem of a Trivy result, from the report's OS for OS packages. */
function ecosystemOf(type: PackageType, family: string | undefined, osName: string | undefined): string {
  const language = LANGUAGE_ECOSYSTEMS[type];
  if (language) return language;
  const f = (family ?? '').toLowerCase();
  const major = /^(\d+)/.exec(osName ?? '')?.[1];
  const majorMinor = /^(\d+\.\d+)/.exec(osName ?? '')?.[1];
  if (f === 'debian') return major ? `Debian:${major}` : 'Debian';
  if (f === 'ubuntu') return majorMinor ? `Ubuntu:${majorMinor}` : 'Ubuntu';
  if (f === 'alpine') return majorMinor ? `Alpine:v${majorMinor}` : 'Alpine';
  return family ?? type;
}

function severityOf(value: string | undefined): Severity {
  return parseSeverity(value ?? '') ?? 'UNKNOWN';
}

/** The CVSS vector and score to show: the severity source's vendor first, then NVD, then any; v4 before v3 before v2. */
function cvssOf(v: TrivyVulnerability): { score: number; vector?: string } | undefined {
  const entries = Object.entries(v.CVSS ?? {});
  const rank = (vendor: string): number => (vendor === v.SeveritySource ? 0 : vendor === 'nvd' ? 1 : 2);
  entries.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const [, c] of entries) {
    for (const [score, vector] of [
      [c.V40Score, c.V40Vector],
      [c.V3Score, c.V3Vector],
      [c.V2Score, c.V2Vector],
    ] as const) {
      if (typeof score === 'number' && Number.isFinite(score)) return vector ? { score, vector } : { score };
    }
  }
  return undefined;
}

/** Trivy lists one fix per branch (`1.5.13, 1.3.15`): the lowest one above the installed version. */
function fixedVersionOf(fixed: string | undefined, installed: string, ecosystem: string): string | undefined {
  const candidates = (fixed ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (candidates.length <= 1) return candidates[0];
  const scheme = versionSchemeFor(ecosystem);
  if (!scheme?.isValid(installed)) return candidates[0];
  const above = candidates
    .filter((c) => scheme.isValid(c) && scheme.compare(c, installed) > 0)
    .sort(scheme.compare);
  return above[0] ?? candidates[0];
}

function firstLine(text: string | undefined): string {
  return (
    text
      ?.split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? ''
  );
}

/** Maps a Trivy JSON report into findings; anything it cannot map becomes an issue. Throws only on a report that is not one. */
export function findingsFromTrivyReport(input: unknown): { findings: Finding[]; issues: ScanIssue[] } {
  const parsed = trivyReportSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BerthError(
      'SCANNER_REPORT_INVALID',
      `not a Trivy JSON report (SchemaVersion 2): ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const report = parsed.data;
  const findings = new Map<string, Finding>();
  const issues: ScanIssue[] = [];
  const unsupported = new Set<string>();
  for (const result of report.Results ?? []) {
    const list = result.Vulnerabilities ?? [];
    if (list.length === 0) continue;
    const type = PACKAGE_TYPES[(result.Type ?? '').toLowerCase()];
    if (!type) {
      const name = result.Type ?? '(none)';
      if (!unsupported.has(name)) {
        unsupported.add(name);
        issues.push({
          code: 'SCANNER_TYPE_UNSUPPORTED',
          message: `trivy result type ${name} has no Berth package type; its findings are left out`,
          path: result.Target,
        });
      }
      continue;
    }
    const ecosystem = ecosystemOf(type, report.Metadata?.OS?.Family, report.Metadata?.OS?.Name);
    for (const raw of list) {
      const checked = vulnerabilitySchema.safeParse(raw);
      if (!checked.success) {
        issues.push({
          code: 'SCANNER_FINDING_INVALID',
          message: `a trivy finding in ${result.Target ?? 'the report'} lacks ${checked.error.issues[0]?.path.join('.') ?? 'fields'}`,
          path: result.Target,
        });
        continue;
      }
      const v = checked.data;
      const installed = v.InstalledVersion ?? '';
      const location = v.PkgPath ? `/${v.PkgPath.replace(/^\/+/, '')}` : (result.Target ?? '');
      const finding: Finding = {
        id: v.VulnerabilityID,
        aliases: (v.VendorIDs ?? []).filter((id) => id !== v.VulnerabilityID),
        packageName: v.PkgName,
        packageType: type,
        installedVersion: installed,
        severity: severityOf(v.Severity),
        summary: v.Title?.trim() || firstLine(v.Description),
        purl: v.PkgIdentifier?.PURL ?? '',
        location,
        ecosystem,
      };
      const fixed = fixedVersionOf(v.FixedVersion, installed, ecosystem);
      if (fixed) finding.fixedVersion = fixed;
      const cvss = cvssOf(v);
      if (cvss) {
        finding.score = cvss.score;
        if (cvss.vector) finding.vector = cvss.vector;
      }
      if (v.PrimaryURL) finding.url = v.PrimaryURL;
      findings.set([type, v.PkgName, installed, location, v.VulnerabilityID].join('\u0000'), finding);
    }
  }
  return { findings: [...findings.values()].sort(compareFindings), issues };
}

/** The path of an executable on PATH, or undefined. */
export async function findExecutable(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here: try the next folder.
    }
  }
  return undefined;
}

export interface TrivyOptions {
  /** The trivy executable; found on PATH when absent. */
  trivyPath?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** More arguments for `trivy image`, e.g. `['--skip-db-update']` or `['--offline-scan']`. */
  extraArgs?: string[];
}

/**
 * Runs `trivy image --format json --input ARCHIVE` (a docker-archive or OCI archive tarball) and maps its report.
 * SCANNER_NOT_FOUND when trivy is not on PATH, SCANNER_FAILED when it exits non-zero, SCANNER_REPORT_INVALID
 * when its output is not a report.
 */
export async function runTrivy(
  imageArchivePath: string,
  options: TrivyOptions = {},
): Promise<{ findings: Finding[]; issues: ScanIssue[]; report: TrivyReport }> {
  const env = options.env ?? process.env;
  const trivy = options.trivyPath ?? (await findExecutable('trivy', env));
  if (!trivy)
    throw new BerthError(
      'SCANNER_NOT_FOUND',
      'trivy is not on PATH; install it or scan with the built-in scanner',
    );
  const args = [
    'image',
    '--format',
    'json',
    '--quiet',
    '--scanners',
    'vuln',
    ...(options.extraArgs ?? []),
    '--input',
    imageArchivePath,
  ];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(trivy, args, { env, stdio: ['ignore', 'pipe', 'pipe'], signal: options.signal });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT')
          reject(new BerthError('SCANNER_NOT_FOUND', `trivy not found at ${trivy}`));
        else reject(error);
      });
      child.once('close', (exit) =>
        resolve({
          code: exit,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        }),
      );
    },
  );
  if (code !== 0) {
    const last = stderr.trim().split('\n').pop()?.trim() || 'no message';
    throw new BerthError('SCANNER_FAILED', `trivy exited with code ${code}: ${last}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch (error) {
    throw new BerthError(
      'SCANNER_REPORT_INVALID',
      `trivy printed no JSON report: ${(error as Error).message}`,
    );
  }
  const mapped = findingsFromTrivyReport(json);
  return { ...mapped, report: json as TrivyReport };
}
