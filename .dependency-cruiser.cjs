// The module rules of docs/architecture.md as dependency-cruiser rules: `npm run lint` (and so CI) fails on an
// import that breaks one, naming the rule. Each rule's name says what it forbids; its comment says why.
// Test code (*.test.ts, the shared *.test-suite.ts) may reach across modules; production code never reaches test code.

/** Test code: exempt from the layering, but never imported by production code. */
const TEST_CODE = '\\.test\\.ts$|\\.test-suite\\.ts$';

/** scan's vocabulary: its types and the severity order, which policy decides over and the CLI prints. */
const SCAN_VOCABULARY = '^src/scan/(types|severity)\\.ts$';

/** Leaf modules every module may import: one Clock, one atomic file write. */
const LEAVES = ['clock', 'files'];

/** Every module DESIGN names; a folder of src/ that is not here has no rule yet and fails the lint. */
const MODULES = [
  'oci',
  'config',
  'storage',
  'metadata',
  'access',
  'policy',
  'scan',
  'trust',
  'registry',
  'jobs',
  'events',
  'http',
  'client',
  'cli',
  'main',
  'tls',
  'ui',
  ...LEAVES,
];

/**
 * Concrete adapters: object drivers (not the ObjectDriver interface) and the SQL side of the metadata store.
 * Only main/ picks them (by configuration); elsewhere code sees the BlobStore and MetadataStore interfaces.
 */
const ADAPTERS = [
  '^src/storage/(?!object-driver\\.ts$)[^/]+-driver\\.ts$',
  '^src/metadata/(sqlite|postgres|migrations|schema|kysely-[^/]+)\\.ts$',
];

/**
 * `module` may import itself, the leaves and `allowed` (DESIGN "Modules (src/)"), nothing else of src/.
 * The name lists what is allowed, so the message of a violation says what the import went beyond.
 */
function layer(module, allowed, comment) {
  const permitted = [module, ...allowed, ...LEAVES];
  return {
    name: `${module}-imports-beyond-${allowed.length > 0 ? allowed.join('-') : 'itself'}`,
    comment,
    severity: 'error',
    from: { path: `^src/${module}/`, pathNot: TEST_CODE },
    to: { path: '^src/', pathNot: `^src/(${permitted.join('|')})/` },
  };
}

/** `from` may import `to` for its types only (`import type`), never its code; `except` names files it may run. */
function typesOnly(name, from, to, comment, except) {
  return {
    name,
    comment,
    severity: 'error',
    from: { path: from, pathNot: TEST_CODE },
    to: {
      path: to,
      ...(except ? { pathNot: except } : {}),
      dependencyTypesNot: ['type-only', 'type-import'],
    },
  };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'import-cycle',
      comment: 'Modules form layers; a cycle means two of them are one idea, or one of them imports upward.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'production-code-imports-test-code',
      comment:
        'Test code (test/, *.test.ts, *.test-suite.ts) is not built into dist/; code that ships must not need it.',
      severity: 'error',
      from: { path: '^src/', pathNot: TEST_CODE },
      to: { path: `^test/|${TEST_CODE}` },
    },
    {
      name: 'unresolvable-import',
      comment:
        'An import that resolves to nothing fails at run time; it is also an import no rule can check.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
    {
      name: 'module-not-in-design',
      comment: `A folder of src/ that is none of ${MODULES.join(', ')}: give it its rule here and its line in docs/architecture.md.`,
      severity: 'error',
      from: { path: `^src/(?!(${MODULES.join('|')})/)` },
      to: {},
    },

    // What each module may import (DESIGN "Modules (src/)"). Nothing imports upward.
    layer('oci', [], 'The vocabulary of the specs: everything builds on it, it builds on nothing.'),
    layer('config', ['oci'], 'The configuration schema; main/ reads it and hands each part its settings.'),
    layer('storage', ['oci'], 'Content-addressed bytes behind a driver: no records, no HTTP, no use cases.'),
    layer('metadata', ['oci'], 'Rows in SQL: no bytes, no HTTP, no use cases.'),
    layer(
      'access',
      ['oci', 'metadata'],
      'Identities, tokens and roles: decisions plus the queries they need.',
    ),
    layer('policy', ['oci', 'scan'], 'Pure decisions over data; scan only for its vocabulary (see below).'),
    layer(
      'scan',
      ['oci'],
      'Image analysis, inventory, advisories and matching: usable by server and client alike.',
    ),
    layer('trust', ['oci'], 'Signing and verification: usable by server and client alike.'),
    layer(
      'registry',
      ['oci', 'storage', 'metadata', 'access', 'policy'],
      'The Distribution use cases; storage and metadata through their interfaces (types only, see below).',
    ),
    layer(
      'jobs',
      ['oci', 'registry', 'metadata', 'storage', 'policy', 'scan', 'trust', 'events'],
      'Background work under a lease; storage through its types only (see below).',
    ),
    layer('events', ['oci', 'metadata'], "Durable events written in the change's own transaction."),
    layer(
      'http',
      ['oci', 'registry', 'access', 'jobs', 'events'],
      'Routes parse, call a use case and serialize: no records (metadata) and no bytes (storage) directly.',
    ),
    layer('client', ['oci', 'scan', 'trust', 'policy'], 'The importer never runs server code.'),
    layer(
      'tls',
      ['oci'],
      'HTTPS material (a local CA, issuing, the lock): wired by main/, named by the serve command.',
    ),
    layer('ui', [], 'The web UI talks to /api/v1 only; it imports no server or client code.'),
    {
      name: 'main-imports-cli',
      comment: 'main/ is the composition root the serve command starts; the CLI sits above it.',
      severity: 'error',
      from: { path: '^src/main/', pathNot: TEST_CODE },
      to: { path: '^src/(cli|ui)/' },
    },
    {
      name: 'cli-imports-beyond-client-main',
      comment:
        'A command parses flags, calls one use case in client/ (main/ for serve) and prints: no server modules.',
      severity: 'error',
      from: { path: '^src/cli/', pathNot: TEST_CODE },
      to: {
        path: '^src/',
        pathNot: `^src/(cli|client|main|tls|oci|scan|policy|jobs|trust|events|${LEAVES.join('|')})/`,
      },
    },
    {
      name: 'cli-imports-code-beyond-client-main',
      comment:
        "Beyond client/ and main/ a command imports the types its formatters print, scan's vocabulary (severity order) and oci's (errors, references, digests, byte sizes) to parse flags; reading manifests (oci's manifest schemas), scanning and policy are use cases in client/.",
      severity: 'error',
      from: { path: '^src/cli/', pathNot: TEST_CODE },
      to: {
        path: '^src/(oci|scan|policy|jobs|trust|events)/',
        pathNot: `^src/oci/(?!manifest)[^/]+\\.ts$|${SCAN_VOCABULARY}`,
        dependencyTypesNot: ['type-only', 'type-import'],
      },
    },

    // Types only: the interface, never the code behind it.
    typesOnly(
      'registry-imports-storage-or-metadata-code',
      '^src/registry/',
      '^src/(storage|metadata)/',
      'The use cases get a BlobStore and a MetadataStore from main/; they import the interfaces, not code.',
    ),
    typesOnly(
      'jobs-imports-storage-code',
      '^src/jobs/',
      '^src/storage/',
      'Jobs get their BlobStore from main/; they import its type, not code.',
    ),
    typesOnly(
      'policy-imports-scan-beyond-vocabulary',
      '^src/policy/',
      '^src/scan/',
      "Policy decides over scan's results: it may use scan's vocabulary (types, severity order), never run a scan.",
      SCAN_VOCABULARY,
    ),

    // Adapters and packages.
    {
      name: 'adapter-imported-outside-main',
      comment:
        'Backends are picked by configuration in main/ only (fs/s3 drivers, SQLite/PostgreSQL dialects, Kysely stores).',
      severity: 'error',
      from: { path: '^src/(?!main/)([^/]+)/', pathNot: TEST_CODE },
      to: { path: ADAPTERS.join('|'), pathNot: '^src/$1/' },
    },
    {
      name: 'leaf-module-imports-beyond-node',
      comment: 'clock/ and files/ are imported by every module, so they import only node built-ins.',
      severity: 'error',
      from: { path: `^src/(${LEAVES.join('|')})/`, pathNot: TEST_CODE },
      to: { dependencyTypesNot: ['core'] },
    },
    {
      name: 'oci-imports-package-beyond-zod',
      comment: 'The vocabulary stays small: node built-ins and zod.',
      severity: 'error',
      from: { path: '^src/oci/', pathNot: TEST_CODE },
      to: { path: 'node_modules/', pathNot: 'node_modules/zod/' },
    },
    {
      name: 'fastify-outside-http',
      comment: 'HTTP is spoken in http/ (and wired in main/); use cases never see a request or a reply.',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(http|main)/|${TEST_CODE}` },
      to: { path: 'node_modules/fastify/' },
    },
    {
      name: 'sql-outside-metadata',
      comment:
        'Kysely and the PostgreSQL driver belong to the metadata store; the rest speaks its interface.',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/metadata/|${TEST_CODE}` },
      to: { path: 'node_modules/(kysely|pg)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: `http/` must not import metadata's types either, and registry's may only be types.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
