// The module rules in .dependency-cruiser.cjs, run the way `npm run lint` runs them, over a small source tree of
// this test's own: each rule must still fail the import it names (a rule with a typo in a path would otherwise
// pass everything in silence), and the imports DESIGN allows must still pass.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../support/temp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

/**
 * The tree: file → its source. A file named in a comment `// forbidden: RULE → TARGET` must be reported
 * under exactly that rule for that target; every other import in the tree must pass.
 */
const TREE: Record<string, string> = {
  'src/oci/errors.ts': 'export class BerthError extends Error {}\n',
  'src/oci/digest.ts': `export type Digest = \`sha256:\${string}\`;
export const isDigest = (value: string): value is Digest => value.startsWith('sha256:');
`,
  'src/oci/manifest.ts': `import { z } from 'zod';
export const manifestSchema = z.object({ schemaVersion: z.literal(2) });
`,
  'src/oci/config-text.ts': `// forbidden: oci-imports-package-beyond-zod → yaml
import { parse } from 'yaml';
export const read = (text: string): unknown => parse(text);
`,
  'src/clock/clock.ts': `import { hrtime } from 'node:process';
export interface Clock { now(): number }
export const monotonic = (): bigint => hrtime.bigint();
`,
  // The leaf rule names it first (dependency-cruiser reports one rule per import): also clock-imports-beyond-itself.
  'src/clock/dated-error.ts': `// forbidden: leaf-module-imports-beyond-node → src/oci/errors.ts
import { BerthError } from '../oci/errors.js';
export class DatedError extends BerthError {}
`,
  'src/files/atomic-write.ts': `import { rename } from 'node:fs/promises';
export const publish = (from: string, to: string): Promise<void> => rename(from, to);
`,
  'src/files/checked-write.ts': `// forbidden: leaf-module-imports-beyond-node → zod
import { z } from 'zod';
export const name = z.string();
`,
  'src/storage/blob-store.ts': `import type { Digest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import { publish } from '../files/atomic-write.js';
export interface BlobStore { stat(digest: Digest): Promise<number | undefined> }
export const blobUnknown = (): Error => new BerthError();
export const commit = publish;
`,
  'src/storage/object-driver.ts': 'export interface ObjectDriver { get(key: string): Promise<Uint8Array> }\n',
  'src/storage/fs-driver.ts': `import type { ObjectDriver } from './object-driver.js';
export class FsDriver implements ObjectDriver { async get(): Promise<Uint8Array> { return new Uint8Array(); } }
`,
  'src/storage/upward.ts': `// forbidden: storage-imports-beyond-oci → src/registry/registry.ts
import { Registry } from '../registry/registry.js';
export const registry = Registry;
`,
  'src/storage/ships-a-suite.ts': `// forbidden: production-code-imports-test-code → src/storage/blob-store.test-suite.ts
import { blobStoreSuite } from './blob-store.test-suite.js';
export const suite = blobStoreSuite;
`,
  'src/storage/ships-a-fixture.ts': `// forbidden: production-code-imports-test-code → test/support/fixture.ts
import { fixture } from '../../test/support/fixture.js';
export const data = fixture;
`,
  'src/storage/missing.ts': `// forbidden: unresolvable-import → ./no-such-file.js
import { nothing } from './no-such-file.js';
export const none = nothing;
`,
  // Test code is exempt from the layering: a shared suite may start a registry, a test may use test/support.
  'src/storage/blob-store.test-suite.ts': `import { Registry } from '../registry/registry.js';
export const blobStoreSuite = (): Registry => new Registry();
`,
  'src/storage/fs-driver.test.ts': `import { fixture } from '../../test/support/fixture.js';
import { FsDriver } from './fs-driver.js';
import { blobStoreSuite } from './blob-store.test-suite.js';
export const cases = [fixture, new FsDriver(), blobStoreSuite()];
`,
  'test/support/fixture.ts': 'export const fixture = 1;\n',
  'src/metadata/metadata-store.ts':
    'export interface MetadataStore { tags(repo: string): Promise<string[]> }\n',
  'src/metadata/sqlite.ts': `import { Kysely } from 'kysely';
import type { MetadataStore } from './metadata-store.js';
export const openSqlite = (): MetadataStore => new Kysely<object>({} as never) as unknown as MetadataStore;
`,
  'src/access/access-service.ts': `import type { MetadataStore } from '../metadata/metadata-store.js';
export class AccessService { constructor(readonly store: MetadataStore) {} }
`,
  'src/access/picks-a-dialect.ts': `// forbidden: adapter-imported-outside-main → src/metadata/sqlite.ts
import { openSqlite } from '../metadata/sqlite.js';
export const open = openSqlite;
`,
  'src/access/queries.ts': `// forbidden: sql-outside-metadata → kysely
import type { Kysely } from 'kysely';
export type Db = Kysely<object>;
`,
  'src/scan/severity.ts': "export const SEVERITIES = ['low', 'high'] as const;\n",
  'src/scan/types.ts': "export type Severity = 'low' | 'high';\n",
  'src/scan/layer-walker.ts': `import { summarize } from './layer-summary.js';
export const walkLayers = (): number => summarize();
`,
  'src/scan/layer-summary.ts': `// forbidden: import-cycle → src/scan/layer-walker.ts
import { walkLayers } from './layer-walker.js';
export const summarize = (): number => (walkLayers ? 0 : 1);
`,
  'src/policy/admission.ts': `import { SEVERITIES } from '../scan/severity.js';
import type { Severity } from '../scan/types.js';
import type { walkLayers } from '../scan/layer-walker.js';
export const worst = (found: Severity[], walk?: typeof walkLayers): Severity | undefined =>
  walk ? undefined : SEVERITIES.find((s) => found.includes(s));
`,
  'src/policy/scans-itself.ts': `// forbidden: policy-imports-scan-beyond-vocabulary → src/scan/layer-walker.ts
import { walkLayers } from '../scan/layer-walker.js';
export const layers = walkLayers;
`,
  'src/registry/registry.ts': `import type { BlobStore } from '../storage/blob-store.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { AccessService } from '../access/access-service.js';
import { worst } from '../policy/admission.js';
export class Registry { blobs?: BlobStore; meta?: MetadataStore; access?: AccessService; decide = worst; }
`,
  'src/registry/storage-code.ts': `// forbidden: registry-imports-storage-or-metadata-code → src/storage/blob-store.ts
import { blobUnknown } from '../storage/blob-store.js';
export const missing = blobUnknown;
`,
  'src/registry/replies.ts': `// forbidden: fastify-outside-http → fastify
import type { FastifyReply } from 'fastify';
export type Reply = FastifyReply;
`,
  'src/jobs/garbage-collection.ts': `import type { BlobStore } from '../storage/blob-store.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { Registry } from '../registry/registry.js';
export const collect = (blobs: BlobStore, meta: MetadataStore): Registry => Object.assign(new Registry(), { blobs, meta });
`,
  'src/jobs/blob-sweep.ts': `// forbidden: jobs-imports-storage-code → src/storage/blob-store.ts
import { commit } from '../storage/blob-store.js';
export const sweep = commit;
`,
  'src/http/routes.ts': `import type { FastifyInstance } from 'fastify';
import { Registry } from '../registry/registry.js';
export const register = (app: FastifyInstance): Registry | undefined => (app ? new Registry() : undefined);
`,
  'src/http/admin-routes.ts': `// forbidden: http-imports-beyond-oci-registry-access-jobs-events → src/metadata/metadata-store.ts
import type { MetadataStore } from '../metadata/metadata-store.js';
export type Store = MetadataStore;
`,
  'src/tls/certificate-authority.ts': `import { BerthError } from '../oci/errors.js';
export const caError = (): Error => new BerthError();
`,
  'src/client/push.ts': `import { isDigest } from '../oci/digest.js';
import { walkLayers } from '../scan/layer-walker.js';
export const push = (ref: string): boolean => isDigest(ref) && walkLayers() > 0;
`,
  'src/client/starts-a-server.ts': `// forbidden: client-imports-beyond-oci-scan-trust-policy → src/main/server.ts
import { start } from '../main/server.js';
export const serve = start;
`,
  'src/main/server.ts': `import { FsDriver } from '../storage/fs-driver.js';
import { openSqlite } from '../metadata/sqlite.js';
import { register } from '../http/routes.js';
import { caError } from '../tls/certificate-authority.js';
export const start = (): unknown[] => [new FsDriver(), openSqlite(), register, caError];
`,
  'src/main/runs-a-command.ts': `// forbidden: main-imports-cli → src/cli/push-command.ts
import { pushCommand } from '../cli/push-command.js';
export const run = pushCommand;
`,
  // A command: a use case from client/, oci's vocabulary to parse flags, scan's to print, the types its printer takes.
  'src/cli/push-command.ts': `import { push } from '../client/push.js';
import { BerthError } from '../oci/errors.js';
import { type Digest, isDigest } from '../oci/digest.js';
import type { Severity } from '../scan/types.js';
import { SEVERITIES } from '../scan/severity.js';
export const pushCommand = (ref: Digest, worst?: Severity): boolean => {
  if (worst === undefined && !(isDigest(ref) && push(ref) && SEVERITIES.length > 0)) throw new BerthError();
  return true;
};
`,
  'src/cli/serve-command.ts': `import { start } from '../main/server.js';
import { caError } from '../tls/certificate-authority.js';
export const serve = (): unknown => [start(), caError];
`,
  'src/cli/scan-command.ts': `// forbidden: cli-imports-code-beyond-client-main → src/scan/layer-walker.ts
import { walkLayers } from '../scan/layer-walker.js';
export const scan = walkLayers;
`,
  'src/cli/inspect-command.ts': `// forbidden: cli-imports-code-beyond-client-main → src/oci/manifest.ts
import { manifestSchema } from '../oci/manifest.js';
export const inspect = manifestSchema;
`,
  'src/cli/tags-command.ts': `// forbidden: cli-imports-beyond-client-main → src/registry/registry.ts
import type { Registry } from '../registry/registry.js';
export type Tags = Registry;
`,
  'src/widgets/widget.ts': `// forbidden: module-not-in-design → src/oci/errors.ts
import { BerthError } from '../oci/errors.js';
export const widget = BerthError;
`,
};

interface Violation {
  rule: string;
  from: string;
  to: string;
}

/** The violations the tree's comments name. */
function expectedViolations(): Violation[] {
  const expected: Violation[] = [];
  for (const [file, text] of Object.entries(TREE)) {
    const match = /^\/\/ forbidden: (\S+) → (\S+)$/m.exec(text);
    if (match) expected.push({ rule: match[1] ?? '', from: file, to: match[2] ?? '' });
  }
  return expected;
}

async function writeTree(dir: string): Promise<void> {
  for (const [file, text] of Object.entries(TREE)) {
    await mkdir(join(dir, dirname(file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
  // The resolution settings of the repository's own tsconfig.json, which the rules name.
  const compilerOptions = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')).compilerOptions;
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src', 'test'] }));
  // Packages (zod, yaml, fastify, kysely) resolve as in the repository.
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  // The repository's rules file itself, where the lint script expects it.
  await copyFile(CONFIG, join(dir, '.dependency-cruiser.cjs'));
}

/** `depcruise src` as `npm run lint` runs it, in `cwd`: its exit status and the violations it printed. */
function lint(cwd: string): Promise<{ code: number; output: string; violations: Violation[] }> {
  const [, ...args] = lintCommand().split(' ');
  return new Promise((done) => {
    execFile(
      process.execPath,
      [DEPCRUISE, ...args],
      { cwd, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        const output = `${stdout}${stderr}`;
        // A cycle prints its path on the lines below the rule; a package, its resolved file.
        const violations = [...output.matchAll(/^\s*error (\S+): (\S+) →\s*(\S+)/gm)].map((m) => ({
          rule: m[1] ?? '',
          from: m[2] ?? '',
          to: (m[3] ?? '').replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, '$1'),
        }));
        done({ code, output, violations });
      },
    );
  });
}

/** The depcruise part of package.json's lint script, which CI runs (`.ci/run`: npm run lint). */
function lintCommand(): string {
  const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<
    string,
    string
  >;
  const command = scripts.lint
    ?.split('&&')
    .map((part) => part.trim())
    .find((part) => part.startsWith('depcruise '));
  assert.ok(command, `package.json's lint script runs no depcruise: ${scripts.lint}`);
  return command;
}

const key = (v: Violation): string => `${v.rule}: ${v.from} → ${v.to}`;

describe('the module rules (npm run lint)', () => {
  test('the lint script runs dependency-cruiser over src with the rules file', () => {
    assert.equal(lintCommand(), 'depcruise src --config .dependency-cruiser.cjs');
    // The rules file is found from the repository root, where npm runs scripts.
    assert.ok(createRequire(import.meta.url)(CONFIG).forbidden.length > 0);
  });

  test('each rule fails the import it forbids, by name, and passes what DESIGN allows', async (t) => {
    const dir = await tempDir(t, 'berth-module-rules-');
    await writeTree(dir);
    const result = await lint(dir);
    assert.notEqual(result.code, 0, result.output);
    const expected = expectedViolations().map(key).sort();
    assert.deepEqual(result.violations.map(key).sort(), expected, result.output);
  });

  test('every rule in the rules file has a case above', () => {
    const rules = createRequire(import.meta.url)(CONFIG).forbidden as { name: string }[];
    const covered = new Set(expectedViolations().map((v) => v.rule));
    // The per-module layer rules are all one function; storage, clock, client and http stand for them.
    const uncovered = rules
      .map((rule) => rule.name)
      .filter((name) => !covered.has(name) && !/^[a-z]+-imports-beyond-/.test(name));
    assert.deepEqual(uncovered, []);
  });
});
