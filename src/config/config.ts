import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { BerthError } from '../oci/errors.js';

const listenAddress = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected HOST:PORT, for example 127.0.0.1:5000')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be at most 65535');

// Room kept on the data folder's disk so deletes can still be recorded when it fills up.
const DEFAULT_STORAGE_RESERVE = 16 * 1024 * 1024;
const S3_DEFAULTS = {
  endpoint: '',
  bucket: '',
  region: 'us-east-1',
  prefix: '',
  forcePathStyle: false,
  redirect: false,
  redirectExpiry: 900,
};
// The background blob check reads at most this much per second, so serving keeps the disk.
const DEFAULT_BLOB_CHECK_RATE = 32 * 1024 * 1024;

const TOKEN_DEFAULTS = {
  issuer: 'berth',
  service: 'berth-registry',
  expiresIn: 300,
  realm: '',
  apiService: 'berth-api',
  apiExpiresIn: 900,
};

/** `10.0.0.1`, `::1`, `10.0.0.0/8`, `fd00::/8`: what `http.trustedProxies` takes. */
function isAddressOrCidr(value: string): boolean {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash < 0) return true;
  const bits = value.slice(slash + 1);
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

export const configSchema = z
  .object({
    listen: listenAddress.default('127.0.0.1:5000'),
    data: z.string().min(1).default('./berth-data'),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        // auto: readable lines on a terminal, JSON lines otherwise.
        format: z.enum(['auto', 'text', 'json']).default('auto'),
      })
      .strict()
      .default({ level: 'info', format: 'auto' }),
    storage: z
      .object({
        filesystem: z
          .object({ root: z.string().default('') })
          .strict()
          .default({ root: '' }),
        // Blobs in an S3-compatible bucket instead of the filesystem when `bucket` is set; credentials come
        // from the standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles).
        s3: z
          .object({
            endpoint: z.string().max(2048).default(''),
            bucket: z.string().max(63).default(''),
            region: z.string().max(64).default('us-east-1'),
            prefix: z.string().max(512).default(''),
            forcePathStyle: z.boolean().default(false),
            // Blob GETs answer 307 with a presigned URL valid `redirectExpiry` seconds; off, the node proxies them.
            redirect: z.boolean().default(false),
            redirectExpiry: z.number().int().min(1).max(604_800).default(900),
          })
          .strict()
          .default(S3_DEFAULTS),
        reserve: z.number().int().min(0).default(DEFAULT_STORAGE_RESERVE),
        blobCheck: z
          .object({
            interval: z.number().int().min(0).default(0),
            bytesPerSecond: z.number().int().min(0).default(DEFAULT_BLOB_CHECK_RATE),
            repair: z.boolean().default(false),
          })
          .strict()
          .default({ interval: 0, bytesPerSecond: DEFAULT_BLOB_CHECK_RATE, repair: false }),
      })
      .strict()
      .default({
        filesystem: { root: '' },
        s3: S3_DEFAULTS,
        reserve: DEFAULT_STORAGE_RESERVE,
        blobCheck: { interval: 0, bytesPerSecond: DEFAULT_BLOB_CHECK_RATE, repair: false },
      }),
    metadata: z
      .object({
        sqlite: z
          .object({ path: z.string().default('') })
          .strict()
          .default({ path: '' }),
        postgres: z
          .object({
            url: z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL'),
            poolSize: z.number().int().min(1).max(1000).default(10),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({ sqlite: { path: '' } }),
    registry: z
      .object({
        deletes: z.boolean().default(true),
        // Pulls only: no write or delete method is registered on /v2/ (a mirror, or a registry being moved).
        readOnly: z.boolean().default(false),
        maxManifestSize: z
          .number()
          .int()
          .min(4096)
          .max(64 * 1024 * 1024)
          .default(4 * 1024 * 1024),
        chunkMinLength: z.number().int().min(0).default(0),
        // A mount without `from` finds the blob in any repository the caller may pull (OCI 1.1 discovery).
        mountDiscovery: z.boolean().default(true),
        uploadPurge: z
          .object({
            maxAge: z.number().int().min(60).default(86_400),
            interval: z.number().int().min(1).default(3600),
          })
          .strict()
          .default({ maxAge: 86_400, interval: 3600 }),
      })
      .strict()
      .default({
        deletes: true,
        readOnly: false,
        maxManifestSize: 4 * 1024 * 1024,
        chunkMinLength: 0,
        mountDiscovery: true,
        uploadPurge: { maxAge: 86_400, interval: 3600 },
      }),
    http: z
      .object({
        idleTimeout: z.number().positive().default(120),
        shutdownGrace: z.number().nonnegative().default(30),
        insecureHttp: z.boolean().default(false),
        // Proxies whose X-Forwarded-For names the client: addresses or CIDRs. Anyone else's header is ignored.
        // A list in YAML; a comma-separated string from BERTH_HTTP_TRUSTED_PROXIES.
        trustedProxies: z
          .preprocess(
            (value) =>
              typeof value === 'string'
                ? value
                    .split(',')
                    .map((part) => part.trim())
                    .filter(Boolean)
                : value,
            z.array(z.string().refine(isAddressOrCidr, 'an IP address or CIDR')),
          )
          .default([]),
      })
      .strict()
      .default({ idleTimeout: 120, shutdownGrace: 30, insecureHttp: false, trustedProxies: [] }),
    // `auth: none` is short for `auth: { mode: none }`.
    auth: z.preprocess(
      (value) => (value === 'none' || value === 'token' ? { mode: value } : value),
      z
        .object({
          mode: z.enum(['token', 'none']).default('token'),
          token: z
            .object({
              issuer: z.string().min(1).default('berth'),
              service: z.string().min(1).default('berth-registry'),
              expiresIn: z.number().int().min(10).max(86_400).default(300),
              realm: z.string().default(''),
              apiService: z.string().min(1).default('berth-api'),
              apiExpiresIn: z.number().int().min(10).max(86_400).default(900),
            })
            .strict()
            .refine((t) => t.apiService !== t.service, {
              message:
                'apiService must differ from service: one token must not open both the registry and the API',
              path: ['apiService'],
            })
            .default({ ...TOKEN_DEFAULTS }),
          rolesFile: z.string().default(''),
          loginAttempts: z.number().int().min(1).default(10),
          loginWindow: z.number().int().min(1).default(300),
          loginChecks: z
            .object({
              concurrency: z.number().int().min(1).max(64).default(2),
              queue: z.number().int().min(0).max(10_000).default(16),
            })
            .strict()
            .default({ concurrency: 2, queue: 16 }),
        })
        .strict()
        .default({
          mode: 'token',
          token: { ...TOKEN_DEFAULTS },
          rolesFile: '',
          loginAttempts: 10,
          loginWindow: 300,
          loginChecks: { concurrency: 2, queue: 16 },
        }),
    ),
    // Prometheus metrics on /metrics: without a token only loopback callers get them; with one, every caller
    // must send `Authorization: Bearer <token>`.
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        token: z.string().max(1024).default(''),
      })
      .strict()
      .default({ enabled: true, token: '' }),
    // Durable events (push, pull, delete, tag, mount, ...): kept maxAge seconds and at most maxCount rows (0: no
    // limit), pruned every pruneInterval seconds.
    events: z
      .object({
        enabled: z.boolean().default(true),
        maxAge: z.number().int().min(0).default(7_776_000),
        maxCount: z.number().int().min(0).default(1_000_000),
        pruneInterval: z.number().int().min(1).default(3600),
      })
      .strict()
      .default({ enabled: true, maxAge: 7_776_000, maxCount: 1_000_000, pruneInterval: 3600 }),
    // Retention (issue 12): pull times are written in batches, every pullFlushInterval seconds or at
    // pullFlushEntries manifests, whichever comes first. Policies and their schedules are per project (the API).
    retention: z
      .object({
        pullFlushInterval: z.number().positive().max(3600).default(5),
        pullFlushEntries: z.number().int().min(1).max(100_000).default(1000),
      })
      .strict()
      .default({ pullFlushInterval: 5, pullFlushEntries: 1000 }),
    // Online garbage collection: a cron schedule ('' = only when asked, `berth gc`) and the grace period in
    // seconds a blob stays after its last reference (upload, mount, manifest) before a run may free it.
    gc: z
      .object({
        schedule: z
          .string()
          .max(200)
          .default('')
          .refine((value) => value === '' || value.trim().split(/\s+/).length >= 5, {
            message: 'a cron pattern of 5 or 6 fields, such as "0 3 * * *", or empty',
          }),
        grace: z
          .number()
          .int()
          .min(0)
          .max(365 * 86_400)
          .default(3600),
      })
      .strict()
      .default({ schedule: '', grace: 3600 }),
    // Webhooks (issue 13): delivery of events to per-project endpoints (berth webhook). Times in milliseconds.
    webhooks: z
      .object({
        enabled: z.boolean().default(true),
        allowPrivateTargets: z.boolean().default(false),
        concurrency: z.number().int().min(1).max(64).default(2),
        timeout: z.number().int().min(100).max(120_000).default(10_000),
        baseDelay: z.number().int().min(1).default(1000),
        maxDelay: z.number().int().min(1).default(3_600_000),
        maxAttempts: z.number().int().min(1).max(100).default(12),
        disableAfter: z.number().int().min(0).default(50),
        pollInterval: z.number().int().min(10).max(60_000).default(1000),
      })
      .strict()
      .default({
        enabled: true,
        allowPrivateTargets: false,
        concurrency: 2,
        timeout: 10_000,
        baseDelay: 1000,
        maxDelay: 3_600_000,
        maxAttempts: 12,
        disableAfter: 50,
        pollInterval: 1000,
      }),
    // Background jobs (upload purge, event pruning, the gc and retention schedules) run on one node at a time:
    // the node holding a job's lease renews it every leaseTtl/3 seconds; when it dies, another node takes the
    // job leaseTtl seconds later at most.
    jobs: z
      .object({ leaseTtl: z.number().int().min(1).max(3600).default(30) })
      .strict()
      .default({ leaseTtl: 30 }),
    tls: z
      .object({
        cert: z.string().default(''),
        key: z.string().default(''),
        selfSigned: z.boolean().default(false),
      })
      .strict()
      .default({ cert: '', key: '', selfSigned: false }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

/** The commented default configuration shipped with the package. */
export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config/berth.yaml', import.meta.url));

export function defaultConfigText(): string {
  return readFileSync(DEFAULT_CONFIG_PATH, 'utf8');
}

export interface LoadOptions {
  /** A YAML file to read; none means defaults. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Command-line values by key path, applied last. */
  overrides?: Record<string, unknown>;
}

/** Reads the file, applies `BERTH_*` variables and overrides, validates. Errors name the offending key. */
export function loadConfig(options: LoadOptions = {}): Config {
  let raw: unknown = {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      throw new BerthError(
        'CONFIG_INVALID',
        `cannot read config file ${options.file}: ${(error as Error).message}`,
      );
    }
    try {
      raw = YAML.parse(text) ?? {};
    } catch (error) {
      throw new BerthError(
        'CONFIG_INVALID',
        `config file ${options.file} is not valid YAML: ${(error as Error).message}`,
      );
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new BerthError('CONFIG_INVALID', `config file ${options.file} must hold a mapping of keys`);
    }
  }
  const merged = structuredClone(raw) as Record<string, unknown>;
  // `auth: none` in the file stays `none` when a variable sets another auth key.
  if (typeof merged.auth === 'string') merged.auth = { mode: merged.auth };
  for (const [path, value] of Object.entries(envOverrides(options.env ?? process.env)))
    setPath(merged, path, value);
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) setPath(merged, path, value);
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const source = options.file ? ` in ${options.file}` : '';
    if (issue?.code === 'unrecognized_keys') {
      const key = [...issue.path, issue.keys[0]].join('.');
      throw new BerthError('CONFIG_INVALID', `config key ${key}${source}: unknown key`);
    }
    const key = issue?.path.join('.') || '(root)';
    throw new BerthError('CONFIG_INVALID', `config key ${key}${source}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Every leaf key path of the schema, such as `metadata.postgres.url`. */
export function configKeys(): string[] {
  const out: string[] = [];
  const walk = (schema: z.ZodType, path: string[]): void => {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) {
      for (const [key, child] of Object.entries(inner.shape)) walk(child as z.ZodType, [...path, key]);
    } else out.push(path.join('.'));
  };
  walk(configSchema, []);
  return out;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) current = current.out as z.ZodType;
    else return current;
  }
}

export function envName(path: string): string {
  return `BERTH_${path
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/\./g, '_')
    .toUpperCase()}`;
}

function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const known = new Map(configKeys().map((key) => [envName(key), key]));
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('BERTH_') || value === undefined) continue;
    const path = known.get(name);
    if (!path) continue;
    out[path] = parseScalar(value);
  }
  return out;
}

function parseScalar(value: string): unknown {
  try {
    const parsed: unknown = YAML.parse(value);
    return parsed === null || typeof parsed === 'object' ? value : parsed;
  } catch {
    return value;
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** Absolute locations derived from the config: the data folder and what lives in it by default. */
export function resolvePaths(
  config: Config,
  cwd = process.cwd(),
): { data: string; storageRoot: string; sqlite: string } {
  const data = resolve(cwd, config.data);
  const under = (value: string, fallback: string): string =>
    value ? (isAbsolute(value) ? value : resolve(cwd, value)) : join(data, fallback);
  return {
    data,
    storageRoot: under(config.storage.filesystem.root, 'storage'),
    sqlite: under(config.metadata.sqlite.path, 'metadata.sqlite'),
  };
}

/** Host and port of a `HOST:PORT` listen address, brackets removed from IPv6 hosts. */
export function splitListen(listen: string): { host: string; port: number } {
  const at = listen.lastIndexOf(':');
  return { host: listen.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(listen.slice(at + 1)) };
}
