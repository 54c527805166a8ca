/**
 * The admission policy file of the quality gate (`berth lint|push --policy FILE`): its YAML format, loading and
 * validation. Every regular expression, glob, size and date is checked here, at load time, so a typo fails before
 * any image is read; the result is a compiled `AdmissionPolicy` that `evaluateAdmission` applies. The format is
 * documented in docs/policy.md.
 */
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { z } from 'zod';
import { byteSizeOf } from '../oci/byte-size.js';
import { BerthError } from '../oci/errors.js';
import { SEVERITIES, type Severity } from '../scan/types.js';
import { fileGlobToRegExp, type Glob, pathGlobToRegExp } from './path-glob.js';

export const VALUE_FORMATS = ['rfc3339', 'email', 'url', 'semver', 'nonempty'] as const;
export type ValueFormat = (typeof VALUE_FORMATS)[number];

/** What a label, annotation or tag value must look like. */
export type ValueRule =
  | { kind: 'format'; format: ValueFormat }
  | { kind: 'pattern'; pattern: RegExp }
  | { kind: 'oneOf'; values: string[] };

/** Where a required key is looked up: `either` accepts a label for an annotation rule and the reverse. */
export type KeyLocation = 'labels' | 'annotations' | 'either';

export interface KeyRule {
  key: string;
  in: KeyLocation;
  rule: ValueRule;
}

/** The tag rules of the naming section, for every project or for the projects of one override. */
export interface TagRules {
  /** The pattern the image part of the repository (everything after the project) must match. */
  image?: RegExp;
  tag?: ValueRule;
  forbiddenTags?: Glob[];
}

export interface NamingOverride extends TagRules {
  projects: Glob[];
}

export interface NamingPolicy extends TagRules {
  /** `host/project/image[/more]`: the repository needs at least two segments, the first is the project. */
  requireProject: boolean;
  hosts?: Glob[];
  projects?: Glob[];
  overrides: NamingOverride[];
}

export interface LayerPolicy {
  maxImageSize?: number;
  maxLayers?: number;
  maxLayerSize?: number;
}

export interface FilePolicy {
  forbiddenFiles: Glob[];
  allowedFiles: Glob[];
  setuid: 'deny' | 'allow';
  allowedSetuid: Glob[];
  setgid: 'deny' | 'allow';
  allowedSetgid: Glob[];
}

export interface VulnerabilityIgnore {
  /** Advisory id or alias, e.g. `CVE-2024-1234`, `GHSA-…`, `DSA-5678-1`. */
  id: string;
  reason: string;
  /** As written in the file: `2025-06-30` or an RFC 3339 date-time. */
  expires: string;
  /** The first instant (ms since the epoch) at which the ignore no longer applies. */
  expiresAt: number;
  packages?: string[];
}

export interface VulnerabilityPolicy {
  /** The highest severity allowed; `NONE` refuses any finding. */
  maxSeverity: Severity | 'NONE';
  ignoreUnfixed: boolean;
  ignore: VulnerabilityIgnore[];
}

export interface AdmissionPolicy {
  /** The file name (or other source name) the policy came from, for reports. */
  source: string;
  version: 1;
  mode: 'enforce' | 'warn';
  labels: KeyRule[];
  annotations: KeyRule[];
  naming?: NamingPolicy;
  layers?: LayerPolicy;
  files?: FilePolicy;
  vulnerabilities?: VulnerabilityPolicy;
}

/** The value rule used when a required key names none: the expectations the OCI image spec sets. */
export const BUILT_IN_FORMATS: Readonly<Record<string, ValueFormat>> = {
  'org.opencontainers.image.created': 'rfc3339',
  'org.opencontainers.image.authors': 'email',
  'org.opencontainers.image.source': 'url',
  'org.opencontainers.image.url': 'url',
  'org.opencontainers.image.documentation': 'url',
  'org.opencontainers.image.version': 'semver',
};

// ---- dates ----

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Whether a string is an RFC 3339 date-time (`2024-05-01T10:00:00Z`, `…+02:00`, fractions allowed). */
export function isRfc3339DateTime(value: string): boolean {
  const m = DATE_TIME.exec(value);
  if (!m || value.includes(' ')) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  const offset = m[8] as string;
  if (!validDate(year as number, month as number, day as number)) return false;
  // Second 60 is a leap second, which RFC 3339 allows.
  if ((hour as number) > 23 || (minute as number) > 59 || (second as number) > 60) return false;
  if (offset.length === 6 && (Number(offset.slice(1, 3)) > 23 || Number(offset.slice(4)) > 59)) return false;
  return true;
}

/** The expiry instant of an ignore: the end of a `YYYY-MM-DD` day in UTC, or the exact date-time given. */
function parseExpiry(value: string): number | undefined {
  const d = DATE.exec(value);
  if (d) {
    const [year, month, day] = d.slice(1).map(Number) as [number, number, number];
    return validDate(year, month, day) ? Date.UTC(year, month - 1, day + 1) : undefined;
  }
  if (!isRfc3339DateTime(value.replace(' ', 'T'))) return undefined;
  return Date.parse(value.replace(' ', 'T'));
}

// ---- schema ----

const regex = z.string().transform((value, ctx) => {
  try {
    return new RegExp(value);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `not a valid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`,
    });
    return z.NEVER;
  }
});

const globOf = (compile: (glob: string) => RegExp) =>
  z
    .string()
    .min(1, 'an empty glob')
    .transform((glob, ctx): Glob => {
      try {
        return { glob, regex: compile(glob) };
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `not a valid glob: ${(error as Error).message}` });
        return z.NEVER;
      }
    });
const nameGlob = globOf(pathGlobToRegExp);
const pathGlob = globOf(fileGlobToRegExp);

const size = z.unknown().transform((raw, ctx) => {
  // A limit of 0 bytes would refuse every image: sizes here are at least one byte.
  const bytes = byteSizeOf(raw, { min: 1 });
  if (bytes === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(raw)} is not a size (examples: 500MiB, 2GB, 1048576)`,
    });
    return z.NEVER;
  }
  return bytes;
});

const valueRuleFields = {
  format: z.enum(VALUE_FORMATS).optional(),
  pattern: regex.optional(),
  oneOf: z.array(z.string()).min(1).optional(),
};

type ValueRuleFields = { format?: ValueFormat; pattern?: RegExp; oneOf?: string[] };

function toValueRule(fields: ValueRuleFields): ValueRule | undefined {
  if (fields.format) return { kind: 'format', format: fields.format };
  if (fields.pattern) return { kind: 'pattern', pattern: fields.pattern };
  if (fields.oneOf) return { kind: 'oneOf', values: fields.oneOf };
  return undefined;
}

function countRules(fields: ValueRuleFields): number {
  return [fields.format, fields.pattern, fields.oneOf].filter((f) => f !== undefined).length;
}

const tagRule = z
  .strictObject(valueRuleFields)
  .superRefine((fields, ctx) => {
    if (countRules(fields) !== 1)
      ctx.addIssue({ code: 'custom', message: 'give exactly one of format, pattern, oneOf' });
  })
  .transform((fields) => toValueRule(fields) as ValueRule);

const keyRule = (defaultIn: KeyLocation) =>
  z.preprocess(
    // `- org.opencontainers.image.created` is short for `- key: org.opencontainers.image.created`.
    (raw) => (typeof raw === 'string' ? { key: raw } : raw),
    z
      .strictObject({
        key: z.string().min(1, 'an empty key'),
        in: z.enum(['labels', 'annotations', 'either']).default(defaultIn),
        ...valueRuleFields,
      })
      .superRefine((fields, ctx) => {
        if (countRules(fields) > 1)
          ctx.addIssue({ code: 'custom', message: 'give at most one of format, pattern, oneOf' });
      })
      .transform(
        (fields): KeyRule => ({
          key: fields.key,
          in: fields.in,
          rule: toValueRule(fields) ?? { kind: 'format', format: BUILT_IN_FORMATS[fields.key] ?? 'nonempty' },
        }),
      ),
  );

const keyRules = (defaultIn: KeyLocation) =>
  z
    .strictObject({ required: z.array(keyRule(defaultIn)).default([]) })
    .superRefine((section, ctx) => {
      const seen = new Set<string>();
      section.required.forEach((rule, index) => {
        if (seen.has(rule.key))
          ctx.addIssue({
            code: 'custom',
            path: ['required', index, 'key'],
            message: `"${rule.key}" is listed twice`,
          });
        seen.add(rule.key);
      });
    })
    .transform((section) => section.required);

const tagRuleFields = {
  image: regex.optional(),
  tag: tagRule.optional(),
  forbiddenTags: z.array(nameGlob).optional(),
};

const namingSchema = z.strictObject({
  requireProject: z.boolean().default(false),
  hosts: z.array(nameGlob).min(1).optional(),
  projects: z.array(nameGlob).min(1).optional(),
  ...tagRuleFields,
  overrides: z.array(z.strictObject({ projects: z.array(nameGlob).min(1), ...tagRuleFields })).default([]),
});

const layersSchema = z.strictObject({
  maxImageSize: size.optional(),
  maxLayers: z.number().int().positive().optional(),
  maxLayerSize: size.optional(),
  forbiddenFiles: z.array(pathGlob).default([]),
  allowedFiles: z.array(pathGlob).default([]),
  setuid: z.enum(['deny', 'allow']).default('allow'),
  allowedSetuid: z.array(pathGlob).default([]),
  setgid: z.enum(['deny', 'allow']).default('allow'),
  allowedSetgid: z.array(pathGlob).default([]),
});

const ignoreSchema = z
  .strictObject({
    id: z.string().min(1, 'an empty advisory id'),
    reason: z.string().trim().min(1, 'a reason is required'),
    expires: z.string(),
    packages: z.array(z.string().min(1)).min(1).optional(),
  })
  .transform((entry, ctx): VulnerabilityIgnore => {
    const expiresAt = parseExpiry(entry.expires);
    if (expiresAt === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['expires'],
        message: `"${entry.expires}" is not a date (YYYY-MM-DD) or an RFC 3339 date-time`,
      });
      return z.NEVER;
    }
    const ignore: VulnerabilityIgnore = {
      id: entry.id,
      reason: entry.reason,
      expires: entry.expires,
      expiresAt,
    };
    if (entry.packages) ignore.packages = entry.packages;
    return ignore;
  });

const vulnerabilitiesSchema = z.strictObject({
  maxSeverity: z.enum([...SEVERITIES, 'NONE']),
  ignoreUnfixed: z.boolean().default(false),
  ignore: z.array(ignoreSchema).default([]),
});

export const admissionPolicySchema = z.strictObject({
  version: z.literal(1),
  mode: z.enum(['enforce', 'warn']).default('enforce'),
  labels: keyRules('labels').optional(),
  annotations: keyRules('annotations').optional(),
  naming: namingSchema.optional(),
  layers: layersSchema.optional(),
  vulnerabilities: vulnerabilitiesSchema.optional(),
});

type ParsedPolicy = z.output<typeof admissionPolicySchema>;

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function toAdmissionPolicy(parsed: ParsedPolicy, source: string): AdmissionPolicy {
  const policy: AdmissionPolicy = {
    source,
    version: 1,
    mode: parsed.mode,
    labels: parsed.labels ?? [],
    annotations: parsed.annotations ?? [],
  };
  if (parsed.naming) {
    const { overrides, ...naming } = parsed.naming;
    policy.naming = { ...dropUndefined(naming), overrides: overrides.map((o) => dropUndefined(o)) };
  }
  if (parsed.layers) {
    const { maxImageSize, maxLayers, maxLayerSize, ...files } = parsed.layers;
    policy.layers = dropUndefined({ maxImageSize, maxLayers, maxLayerSize });
    policy.files = files;
  }
  if (parsed.vulnerabilities) policy.vulnerabilities = parsed.vulnerabilities;
  return policy;
}

// ---- errors ----

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(part))
      out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || '(top level)';
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`);
    case 'invalid_type':
      if (!('input' in issue) || issue.input === undefined) return [`${at}: required`];
      return [`${at}: expected ${issue.expected}, got ${describeInput(issue.input)}`];
    case 'invalid_value':
      if (!('input' in issue) || issue.input === undefined) return [`${at}: required`];
      return [
        `${at}: ${JSON.stringify(issue.input)} is not allowed (expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')})`,
      ];
    default:
      return [`${at}: ${issue.message}`];
  }
}

function describeInput(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  return `${typeof input} ${JSON.stringify(input)}`;
}

function invalid(sourceName: string, problems: string[], cause?: unknown): BerthError {
  const message =
    problems.length === 1
      ? `invalid policy ${sourceName}: ${problems[0]}`
      : `invalid policy ${sourceName} (${problems.length} problems):\n${problems.map((p) => `  ${p}`).join('\n')}`;
  return new BerthError('POLICY_INVALID', message, cause === undefined ? undefined : { cause });
}

// ---- loading ----

/** Parses and validates policy YAML; any problem throws one `POLICY_INVALID` naming the source and key paths. */
export function parseAdmissionPolicy(text: string, sourceName: string): AdmissionPolicy {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => {
      const pos = error.linePos?.[0];
      return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}YAML syntax: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`;
    });
    throw invalid(sourceName, problems, doc.errors[0]);
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw invalid(sourceName, [
      `(top level): expected a mapping with "version: 1", got ${describeInput(data)}`,
    ]);
  }
  const result = admissionPolicySchema.safeParse(data, { reportInput: true });
  if (!result.success) throw invalid(sourceName, result.error.issues.flatMap(describeIssue));
  return toAdmissionPolicy(result.data, sourceName);
}

/** Reads and validates a policy file; an unreadable file is `POLICY_INVALID` too (a usage problem, exit 2). */
export async function loadAdmissionPolicy(path: string): Promise<AdmissionPolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw invalid(path, [`cannot read the file: ${(error as Error).message}`], error);
  }
  return parseAdmissionPolicy(text, path);
}
