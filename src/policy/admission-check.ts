/**
 * The admission decision of the quality gate: a compiled `AdmissionPolicy` applied to what the CLI learned about
 * an image (labels, annotations, destination, layers, files, vulnerability findings). Pure: no I/O, the clock is
 * an argument, and the same input always gives the same report in the same order.
 */
import semver from 'semver';
import { formatBytes } from '../oci/byte-size.js';
import { compareFindings, severityRank } from '../scan/severity.js';
import { type EntryType, type Finding, SEVERITIES } from '../scan/types.js';
import {
  type AdmissionPolicy,
  isRfc3339DateTime,
  type KeyRule,
  type TagRules,
  type ValueFormat,
  type ValueRule,
  type VulnerabilityIgnore,
} from './admission-policy.js';
import type { Glob } from './path-glob.js';

/** One tar entry of one layer. */
export interface AdmissionFile {
  path: string;
  layerIndex: number;
  layerDigest: string;
  mode: number;
  size: number;
  type: EntryType;
  /** A later layer deletes or replaces this path: it is not in the final filesystem, but its bytes still ship. */
  removedLater: boolean;
}

/** The fields of scan/'s `Finding` the gate needs. */
export type AdmissionFinding = Pick<
  Finding,
  'id' | 'aliases' | 'packageName' | 'installedVersion' | 'fixedVersion' | 'severity'
>;

export interface AdmissionInput {
  /** Where the image goes; undefined for `lint` without DEST, and then naming rules are skipped. */
  destination?: { host: string; repository: string; tag?: string; digest?: string };
  /** The image config's labels. */
  labels: Record<string, string>;
  /** The manifest's annotations. */
  annotations: Record<string, string>;
  /** Bytes shipped: compressed layers plus the config. */
  imageSize: number;
  layers: { index: number; digest: string; size: number; uncompressedSize?: number }[];
  /** Every entry of every layer; undefined when the layers were not read, and then file rules are skipped. */
  files?: Iterable<AdmissionFile>;
  /** Undefined when the image was not scanned, and then vulnerability rules are skipped. */
  vulnerabilities?: AdmissionFinding[];
  /**
   * Layers that could not be read to their end, with why. Their files and packages were not checked, so
   * the image fails whatever the rules say.
   */
  unreadableLayers?: string[];
}

export type AdmissionRule = 'labels' | 'annotations' | 'naming' | 'layers' | 'files' | 'vulnerabilities';
export type AdmissionStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface AdmissionCheck {
  /** Stable: `labels:<key>`, `naming:tag`, `files:forbidden`, `vulnerabilities:max-severity`, … */
  id: string;
  rule: AdmissionRule;
  status: AdmissionStatus;
  message: string;
  items?: string[];
}

export interface AdmissionReport {
  /** The policy's source name. */
  policy: string;
  mode: 'enforce' | 'warn';
  /** False when any check failed, whatever the mode. */
  passed: boolean;
  /** True when a check failed and the mode is `enforce`: the CLI refuses the push and exits 1. */
  refused: boolean;
  checks: AdmissionCheck[];
  counts: Record<AdmissionStatus, number> & { total: number };
}

// ---- value rules ----

const EMAIL =
  /^[^\s@<>,;"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const SOURCE_URL_PROTOCOLS = new Set(['http:', 'https:', 'git:', 'ssh:', 'git+ssh:', 'git+https:']);

/** `a@x.org`, `Ann <a@x.org>` and comma-separated lists of either. */
function isAuthorList(value: string): boolean {
  return value.split(',').every((item) => {
    const trimmed = item.trim();
    const named = /^[^<>]*<([^<>]+)>$/.exec(trimmed);
    return EMAIL.test(named ? (named[1] as string) : trimmed);
  });
}

function isSourceUrl(value: string): boolean {
  if (value !== value.trim()) return false;
  try {
    const url = new URL(value);
    return SOURCE_URL_PROTOCOLS.has(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

/** Strict SemVer 2.0.0: no `v` prefix, no spaces. */
function isSemver(value: string): boolean {
  return !/^[v=]|\s/i.test(value) && semver.parse(value) !== null;
}

const FORMAT_CHECKS: Record<ValueFormat, (value: string) => boolean> = {
  rfc3339: isRfc3339DateTime,
  email: isAuthorList,
  url: isSourceUrl,
  semver: isSemver,
  nonempty: (value) => value.trim() !== '',
};

const FORMAT_NAMES: Record<ValueFormat, string> = {
  rfc3339: 'an RFC 3339 date-time',
  email: 'an e-mail address (or "Name <mail>", comma-separated)',
  url: 'an http(s), git or ssh URL',
  semver: 'a semantic version',
  nonempty: 'non-empty',
};

function describeRule(rule: ValueRule): string {
  if (rule.kind === 'format') return FORMAT_NAMES[rule.format];
  if (rule.kind === 'pattern') return `a match for /${rule.pattern.source}/`;
  return `one of ${rule.values.map((v) => JSON.stringify(v)).join(', ')}`;
}

function satisfies(rule: ValueRule, value: string): boolean {
  if (rule.kind === 'format') return FORMAT_CHECKS[rule.format](value);
  if (rule.kind === 'pattern') return rule.pattern.test(value);
  return rule.values.includes(value);
}

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

// ---- labels and annotations ----

const PLACE_NAMES = { labels: 'label', annotations: 'annotation' } as const;

function checkKey(section: 'labels' | 'annotations', rule: KeyRule, input: AdmissionInput): AdmissionCheck {
  const id = `${section}:${rule.key}`;
  const places = rule.in === 'either' ? (['labels', 'annotations'] as const) : [rule.in];
  const found = places.filter((place) => Object.hasOwn(input[place], rule.key));
  if (found.length === 0) {
    const where = rule.in === 'either' ? 'label or annotation' : PLACE_NAMES[rule.in];
    return { id, rule: section, status: 'fail', message: `${where} ${rule.key} is missing` };
  }
  // A key present in both places must be right in both: each copy is what some tool will read.
  for (const place of found) {
    const value = input[place][rule.key] as string;
    if (!satisfies(rule.rule, value)) {
      const why =
        rule.rule.kind === 'format' && rule.rule.format === 'nonempty'
          ? 'empty'
          : `not ${describeRule(rule.rule)}`;
      return {
        id,
        rule: section,
        status: 'fail',
        message: `${PLACE_NAMES[place]} ${rule.key} is ${quote(value)}: ${why}`,
      };
    }
  }
  const place = found.map((p) => PLACE_NAMES[p]).join(' and ');
  return { id, rule: section, status: 'pass', message: `${place} ${rule.key} is ${describeRule(rule.rule)}` };
}

// ---- naming ----

function firstMatch(globs: Glob[] | undefined, value: string): Glob | undefined {
  return globs?.find((g) => g.regex.test(value));
}

function checkNaming(policy: AdmissionPolicy, input: AdmissionInput): AdmissionCheck[] {
  const naming = policy.naming;
  if (!naming) return [];
  const dest = input.destination;
  if (!dest) {
    return [
      {
        id: 'naming',
        rule: 'naming',
        status: 'skip',
        message: 'no destination given: naming rules not checked',
      },
    ];
  }
  const checks: AdmissionCheck[] = [];
  const add = (id: string, status: AdmissionStatus, message: string) =>
    checks.push({ id: `naming:${id}`, rule: 'naming', status, message });
  const segments = dest.repository.split('/');
  const project = segments.length >= 2 ? (segments[0] as string) : undefined;
  const image = project === undefined ? dest.repository : segments.slice(1).join('/');
  const name = `${dest.host}/${dest.repository}`;

  if (naming.requireProject) {
    if (project === undefined)
      add('form', 'fail', `${name} has no project: expected HOST/PROJECT/IMAGE[:TAG]`);
    else add('form', 'pass', `${name} is HOST/PROJECT/IMAGE (project ${project})`);
  }
  if (naming.hosts) {
    const hit = firstMatch(naming.hosts, dest.host);
    if (hit) add('host', 'pass', `host ${dest.host} is allowed`);
    else
      add('host', 'fail', `host ${dest.host} is not allowed (${naming.hosts.map((g) => g.glob).join(', ')})`);
  }
  if (naming.projects) {
    const allowed = naming.projects.map((g) => g.glob).join(', ');
    if (project === undefined) add('project', 'fail', `${name} has no project (allowed: ${allowed})`);
    else if (firstMatch(naming.projects, project)) add('project', 'pass', `project ${project} is allowed`);
    else add('project', 'fail', `project ${project} is not allowed (allowed: ${allowed})`);
  }

  // The first override naming this project replaces the fields it sets; the rest come from the base rules.
  const override =
    project === undefined ? undefined : naming.overrides.find((o) => firstMatch(o.projects, project));
  const rules: TagRules = { ...pickTagRules(naming), ...(override ? pickTagRules(override) : {}) };
  // Say so only where the override's own rule decided.
  const from = (field: keyof TagRules) =>
    override?.[field] !== undefined ? ` (rules for project ${project})` : '';

  if (rules.image) {
    const pattern = `/${rules.image.source}/${from('image')}`;
    if (rules.image.test(image)) add('image', 'pass', `image name ${image} matches ${pattern}`);
    else add('image', 'fail', `image name ${image} does not match ${pattern}`);
  }
  if (rules.tag) {
    const want = `${describeRule(rules.tag)}${from('tag')}`;
    if (dest.tag === undefined)
      add('tag', 'fail', `${name} has no tag (digest only): the tag must be ${want}`);
    else if (satisfies(rules.tag, dest.tag)) add('tag', 'pass', `tag ${dest.tag} is ${want}`);
    else add('tag', 'fail', `tag ${quote(dest.tag)} is not ${want}`);
  }
  if (rules.forbiddenTags && rules.forbiddenTags.length > 0) {
    const hit = dest.tag === undefined ? undefined : firstMatch(rules.forbiddenTags, dest.tag);
    const why = from('forbiddenTags');
    if (hit) add('forbidden-tag', 'fail', `tag ${dest.tag} is forbidden (matches ${hit.glob})${why}`);
    else if (dest.tag === undefined) add('forbidden-tag', 'pass', `no tag, so no forbidden tag${why}`);
    else add('forbidden-tag', 'pass', `tag ${dest.tag} is not a forbidden tag${why}`);
  }
  return checks;
}

function pickTagRules(source: TagRules): TagRules {
  const rules: TagRules = {};
  if (source.image) rules.image = source.image;
  if (source.tag) rules.tag = source.tag;
  if (source.forbiddenTags) rules.forbiddenTags = source.forbiddenTags;
  return rules;
}

// ---- layers ----

function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon >= 0 ? digest.slice(0, colon + 13) : digest.slice(0, 12);
}

function checkLayers(policy: AdmissionPolicy, input: AdmissionInput): AdmissionCheck[] {
  const layers = policy.layers;
  if (!layers) return [];
  const checks: AdmissionCheck[] = [];
  if (layers.maxImageSize !== undefined) {
    const limit = layers.maxImageSize;
    const size = `${formatBytes(input.imageSize)} (${input.imageSize} bytes)`;
    checks.push(
      input.imageSize > limit
        ? {
            id: 'layers:max-image-size',
            rule: 'layers',
            status: 'fail',
            message: `image is ${size}: over the ${formatBytes(limit)} limit`,
          }
        : {
            id: 'layers:max-image-size',
            rule: 'layers',
            status: 'pass',
            message: `image is ${size}, within ${formatBytes(limit)}`,
          },
    );
  }
  if (layers.maxLayers !== undefined) {
    const count = input.layers.length;
    checks.push(
      count > layers.maxLayers
        ? {
            id: 'layers:max-layers',
            rule: 'layers',
            status: 'fail',
            message: `image has ${count} layers: over the limit of ${layers.maxLayers}`,
          }
        : {
            id: 'layers:max-layers',
            rule: 'layers',
            status: 'pass',
            message: `image has ${count} layer${count === 1 ? '' : 's'}, within ${layers.maxLayers}`,
          },
    );
  }
  if (layers.maxLayerSize !== undefined) {
    const limit = layers.maxLayerSize;
    const over = input.layers.filter((layer) => layer.size > limit);
    checks.push(
      over.length > 0
        ? {
            id: 'layers:max-layer-size',
            rule: 'layers',
            status: 'fail',
            message: `${over.length} layer${over.length === 1 ? ' is' : 's are'} over the ${formatBytes(limit)} layer limit`,
            items: over.map(
              (l) => `layer ${l.index} ${shortDigest(l.digest)} is ${formatBytes(l.size)} (${l.size} bytes)`,
            ),
          }
        : {
            id: 'layers:max-layer-size',
            rule: 'layers',
            status: 'pass',
            message: `every layer is within ${formatBytes(limit)}`,
          },
    );
  }
  return checks;
}

// ---- files ----

/** Tar paths come as `./etc/x`, `etc/x` or `/etc/x`; globs compare against `etc/x`. */
function normalizePath(path: string): string {
  return path.replace(/^(?:\.?\/)+/, '').replace(/\/+$/, '');
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function fileWhere(file: AdmissionFile): string {
  return `layer ${file.layerIndex} ${shortDigest(file.layerDigest)}`;
}

function checkFiles(policy: AdmissionPolicy, input: AdmissionInput): AdmissionCheck[] {
  const rules = policy.files;
  if (!rules) return [];
  const wantForbidden = rules.forbiddenFiles.length > 0;
  const wantSetuid = rules.setuid === 'deny';
  const wantSetgid = rules.setgid === 'deny';
  const ids = [
    ...(wantForbidden ? ['files:forbidden'] : []),
    ...(wantSetuid ? ['files:setuid'] : []),
    ...(wantSetgid ? ['files:setgid'] : []),
  ];
  if (!input.files) {
    return ids.map((id) => ({
      id,
      rule: 'files',
      status: 'skip',
      message: 'layers not read: file rules not checked',
    }));
  }
  const forbidden: string[] = [];
  const setuid: string[] = [];
  const setgid: string[] = [];
  let scanned = 0;
  // One pass: the iterable may be a stream of every entry of every layer.
  for (const file of input.files) {
    scanned++;
    if (file.type === 'dir') continue;
    const path = normalizePath(file.path);
    // Whiteout markers are deletions, not files.
    if (baseName(path).startsWith('.wh.')) continue;
    if (wantForbidden) {
      const hit = firstMatch(rules.forbiddenFiles, path);
      if (hit && !firstMatch(rules.allowedFiles, path)) {
        const removed = file.removedLater ? '; removed by a later layer, but still shipped in this one' : '';
        forbidden.push(`/${path} in ${fileWhere(file)} (matches ${hit.glob})${removed}`);
      }
    }
    // A setuid file that a later layer removes cannot run, so only the final filesystem counts.
    if (file.removedLater || (file.type !== 'file' && file.type !== 'hardlink')) continue;
    const mode = `mode ${(file.mode & 0o7777).toString(8).padStart(4, '0')}`;
    if (wantSetuid && file.mode & 0o4000 && !firstMatch(rules.allowedSetuid, path)) {
      setuid.push(`/${path} in ${fileWhere(file)} (${mode})`);
    }
    if (wantSetgid && file.mode & 0o2000 && !firstMatch(rules.allowedSetgid, path)) {
      setgid.push(`/${path} in ${fileWhere(file)} (${mode})`);
    }
  }
  const checks: AdmissionCheck[] = [];
  const result = (id: string, hits: string[], failMessage: string, passMessage: string) =>
    checks.push(
      hits.length > 0
        ? { id, rule: 'files', status: 'fail', message: failMessage, items: hits }
        : { id, rule: 'files', status: 'pass', message: passMessage },
    );
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (wantForbidden) {
    result(
      'files:forbidden',
      forbidden,
      `${plural(forbidden.length, 'forbidden file')} in the layers`,
      `no forbidden file among ${scanned} ${scanned === 1 ? 'entry' : 'entries'}`,
    );
  }
  if (wantSetuid) {
    result(
      'files:setuid',
      setuid,
      `${plural(setuid.length, 'setuid file')} not in allowedSetuid`,
      'no setuid file outside allowedSetuid',
    );
  }
  if (wantSetgid) {
    result(
      'files:setgid',
      setgid,
      `${plural(setgid.length, 'setgid file')} not in allowedSetgid`,
      'no setgid file outside allowedSetgid',
    );
  }
  return checks;
}

// ---- vulnerabilities ----

function ignoreMatches(ignore: VulnerabilityIgnore, finding: AdmissionFinding): boolean {
  const id = ignore.id.toUpperCase();
  const named =
    finding.id.toUpperCase() === id || finding.aliases.some((alias) => alias.toUpperCase() === id);
  return named && (!ignore.packages || ignore.packages.includes(finding.packageName));
}

function describeFinding(finding: AdmissionFinding): string {
  const fix = finding.fixedVersion ? `fixed in ${finding.fixedVersion}` : 'no fix yet';
  const cve = finding.aliases.find((a) => a.startsWith('CVE-') && a !== finding.id);
  return `${finding.severity} ${finding.id}${cve ? ` (${cve})` : ''} in ${finding.packageName} ${finding.installedVersion}, ${fix}`;
}

function checkVulnerabilities(policy: AdmissionPolicy, input: AdmissionInput, now: Date): AdmissionCheck[] {
  const rules = policy.vulnerabilities;
  if (!rules) return [];
  const at = now.getTime();
  const active = rules.ignore.filter((ignore) => at < ignore.expiresAt);
  const expired = rules.ignore.filter((ignore) => at >= ignore.expiresAt);
  const checks: AdmissionCheck[] = [];
  const limit =
    rules.maxSeverity === 'NONE' ? 'no finding is allowed' : `highest allowed ${rules.maxSeverity}`;
  const findings = input.vulnerabilities;
  if (!findings) {
    checks.push({
      id: 'vulnerabilities:max-severity',
      rule: 'vulnerabilities',
      status: 'skip',
      message: 'image not scanned: vulnerability rules not checked',
    });
  } else {
    const failing: string[] = [];
    const ignored: string[] = [];
    // 'NONE' ranks below every severity, so every finding is above it.
    const allowed = rules.maxSeverity === 'NONE' ? 0 : severityRank(rules.maxSeverity);
    for (const finding of [...findings].sort(compareFindings)) {
      if (severityRank(finding.severity) <= allowed) continue;
      const ignore = active.find((i) => ignoreMatches(i, finding));
      if (ignore) {
        ignored.push(`${describeFinding(finding)}: ignored until ${ignore.expires} (${ignore.reason})`);
      } else if (rules.ignoreUnfixed && !finding.fixedVersion) {
        ignored.push(`${describeFinding(finding)}: ignored (ignoreUnfixed)`);
      } else {
        const lapsed = expired.find((i) => ignoreMatches(i, finding));
        failing.push(`${describeFinding(finding)}${lapsed ? ` (its ignore expired ${lapsed.expires})` : ''}`);
      }
    }
    if (failing.length > 0) {
      const bySeverity = SEVERITIES.map(
        (s) => [s, failing.filter((f) => f.startsWith(`${s} `)).length] as const,
      )
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ');
      checks.push({
        id: 'vulnerabilities:max-severity',
        rule: 'vulnerabilities',
        status: 'fail',
        message: `${failing.length} finding${failing.length === 1 ? '' : 's'} above the limit (${bySeverity}; ${limit})`,
        items: failing,
      });
    } else {
      checks.push({
        id: 'vulnerabilities:max-severity',
        rule: 'vulnerabilities',
        status: 'pass',
        message: `${findings.length} finding${findings.length === 1 ? '' : 's'}, none above the limit${
          ignored.length > 0 ? ` once ${ignored.length} ignored` : ''
        } (${limit})`,
      });
    }
    if (ignored.length > 0) {
      checks.push({
        id: 'vulnerabilities:ignored',
        rule: 'vulnerabilities',
        status: 'pass',
        message: `${ignored.length} finding${ignored.length === 1 ? '' : 's'} above the limit ignored by the policy`,
        items: ignored,
      });
    }
  }
  for (const ignore of expired) {
    checks.push({
      id: `vulnerabilities:ignore-expired:${ignore.id}`,
      rule: 'vulnerabilities',
      status: 'warn',
      message: `ignore of ${ignore.id} expired ${ignore.expires} (${ignore.reason}): no longer applied`,
    });
  }
  return checks;
}

// ---- the decision ----

/** Applies the policy; checks come in a fixed order: labels, annotations, naming, layers, files, vulnerabilities. */
function checkReadable(input: AdmissionInput): AdmissionCheck[] {
  if (!input.unreadableLayers || input.unreadableLayers.length === 0) return [];
  return [
    {
      id: 'layers.readable',
      rule: 'layers',
      status: 'fail',
      message: 'a layer could not be read to its end: its files and packages were not checked',
      items: input.unreadableLayers,
    },
  ];
}

export function evaluateAdmission(
  policy: AdmissionPolicy,
  input: AdmissionInput,
  now: Date,
): AdmissionReport {
  const checks: AdmissionCheck[] = [
    ...policy.labels.map((rule) => checkKey('labels', rule, input)),
    ...policy.annotations.map((rule) => checkKey('annotations', rule, input)),
    ...checkNaming(policy, input),
    ...checkLayers(policy, input),
    ...checkFiles(policy, input),
    ...checkVulnerabilities(policy, input, now),
    ...checkReadable(input),
  ];
  const counts = { pass: 0, fail: 0, warn: 0, skip: 0, total: checks.length };
  for (const check of checks) counts[check.status]++;
  const passed = counts.fail === 0;
  return {
    policy: policy.source,
    mode: policy.mode,
    passed,
    refused: !passed && policy.mode === 'enforce',
    checks,
    counts,
  };
}

/** Whether a rule needs every file of every layer, so the CLI reads the layers only then. */
export function policyNeedsFiles(policy: AdmissionPolicy): boolean {
  const files = policy.files;
  return !!files && (files.forbiddenFiles.length > 0 || files.setuid === 'deny' || files.setgid === 'deny');
}

/** Whether a rule needs vulnerability findings, so the CLI scans only then. */
export function policyNeedsVulnerabilities(policy: AdmissionPolicy): boolean {
  return policy.vulnerabilities !== undefined;
}
