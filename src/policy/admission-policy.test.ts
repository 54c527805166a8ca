import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../oci/errors.js';
import { loadAdmissionPolicy, parseAdmissionPolicy } from './admission-policy.js';
import { fileGlobToRegExp, pathGlobToRegExp } from './path-glob.js';

/** Parses and expects POLICY_INVALID; returns the message so a test can check the key path it names. */
function rejects(text: string): string {
  try {
    parseAdmissionPolicy(text, 'policy.yaml');
  } catch (error) {
    assert.ok(error instanceof BerthError, `expected a BerthError, got ${error}`);
    assert.equal(error.code, 'POLICY_INVALID');
    assert.match(error.message, /policy\.yaml/);
    return error.message;
  }
  assert.fail('the policy was accepted');
}

describe('parseAdmissionPolicy', () => {
  it('accepts the smallest policy and applies defaults', () => {
    const policy = parseAdmissionPolicy('version: 1\n', 'p.yaml');
    assert.equal(policy.source, 'p.yaml');
    assert.equal(policy.mode, 'enforce');
    assert.deepEqual(policy.labels, []);
    assert.deepEqual(policy.annotations, []);
    assert.equal(policy.naming, undefined);
    assert.equal(policy.layers, undefined);
    assert.equal(policy.files, undefined);
    assert.equal(policy.vulnerabilities, undefined);
  });

  it('gives well-known OCI keys their built-in rule and other keys nonempty', () => {
    const policy = parseAdmissionPolicy(
      `version: 1
labels:
  required:
    - org.opencontainers.image.created
    - key: org.opencontainers.image.authors
      in: either
    - org.opencontainers.image.source
    - org.opencontainers.image.version
    - com.example.team
    - key: com.example.ticket
      pattern: '^[A-Z]+-\\d+$'
    - key: com.example.tier
      oneOf: [gold, silver]
annotations:
  required:
    - key: org.opencontainers.image.source
      format: url
`,
      'p.yaml',
    );
    const rules = policy.labels.map((r) => [
      r.key,
      r.in,
      r.rule.kind === 'format' ? r.rule.format : r.rule.kind,
    ]);
    assert.deepEqual(rules, [
      ['org.opencontainers.image.created', 'labels', 'rfc3339'],
      ['org.opencontainers.image.authors', 'either', 'email'],
      ['org.opencontainers.image.source', 'labels', 'url'],
      ['org.opencontainers.image.version', 'labels', 'semver'],
      ['com.example.team', 'labels', 'nonempty'],
      ['com.example.ticket', 'labels', 'pattern'],
      ['com.example.tier', 'labels', 'oneOf'],
    ]);
    const ticket = policy.labels[5]?.rule;
    assert.ok(ticket?.kind === 'pattern' && ticket.pattern.test('OPS-12') && !ticket.pattern.test('ops-12'));
    assert.equal(policy.annotations[0]?.in, 'annotations');
  });

  it('parses sizes, globs, setuid rules and ignores', () => {
    const policy = parseAdmissionPolicy(
      `version: 1
mode: warn
layers:
  maxImageSize: 500MiB
  maxLayerSize: 2GB
  maxLayers: 40
  forbiddenFiles: ['**/id_rsa']
  setuid: deny
  allowedSetuid: [/usr/bin/passwd]
vulnerabilities:
  maxSeverity: HIGH
  ignore:
    - id: CVE-2024-1234
      reason: not reachable
      expires: 2025-06-30
      packages: [openssl]
`,
      'p.yaml',
    );
    assert.equal(policy.mode, 'warn');
    assert.deepEqual(policy.layers, {
      maxImageSize: 500 * 1024 * 1024,
      maxLayerSize: 2_000_000_000,
      maxLayers: 40,
    });
    assert.equal(policy.files?.setuid, 'deny');
    assert.equal(policy.files?.setgid, 'allow');
    assert.equal(policy.files?.forbiddenFiles[0]?.glob, '**/id_rsa');
    assert.equal(policy.vulnerabilities?.ignoreUnfixed, false);
    const ignore = policy.vulnerabilities?.ignore[0];
    assert.equal(ignore?.expires, '2025-06-30');
    // A date lasts to the end of its UTC day.
    assert.equal(ignore?.expiresAt, Date.parse('2025-07-01T00:00:00Z'));
    assert.deepEqual(ignore?.packages, ['openssl']);
  });

  it('takes a date-time expiry to the instant', () => {
    const policy = parseAdmissionPolicy(
      'version: 1\nvulnerabilities:\n  maxSeverity: LOW\n  ignore:\n    - {id: X-1, reason: r, expires: "2025-06-30T12:00:00+02:00"}\n',
      'p.yaml',
    );
    assert.equal(policy.vulnerabilities?.ignore[0]?.expiresAt, Date.parse('2025-06-30T10:00:00Z'));
  });

  it('refuses bad YAML with the line', () => {
    assert.match(rejects('version: 1\nlabels: [\n'), /line \d+, column \d+: YAML syntax/);
    assert.match(rejects('version: 1\nversion: 1\n'), /YAML syntax/);
  });

  it('requires version 1 and a mapping', () => {
    assert.match(rejects('mode: enforce\n'), /version: required/);
    assert.match(rejects('version: 2\n'), /version: 2 is not allowed/);
    assert.match(rejects(''), /expected a mapping/);
    assert.match(rejects('- version: 1\n'), /expected a mapping/);
  });

  it('refuses unknown keys, naming each path', () => {
    assert.match(rejects('version: 1\nlabel: {}\n'), /: label: unknown key/);
    const message = rejects(
      'version: 1\nlabels:\n  required:\n    - key: a\n      patern: x\nlayers: {maxLayer: 3}\n',
    );
    assert.match(message, /2 problems/);
    assert.match(message, /labels\.required\[0\]\.patern: unknown key/);
    assert.match(message, /layers\.maxLayer: unknown key/);
  });

  it('compiles every regex at load time', () => {
    const message = rejects(
      "version: 1\nlabels:\n  required:\n    - a\n    - b\n    - key: c\n      pattern: '(unclosed'\n",
    );
    assert.match(message, /labels\.required\[2\]\.pattern: not a valid regular expression/);
    assert.match(
      rejects("version: 1\nnaming:\n  image: '[z-a]'\n"),
      /naming\.image: not a valid regular expression/,
    );
    assert.match(
      rejects("version: 1\nnaming:\n  overrides:\n    - projects: [prod]\n      tag: {pattern: '*'}\n"),
      /naming\.overrides\[0\]\.tag\.pattern: not a valid regular expression/,
    );
  });

  it('refuses bad globs', () => {
    assert.match(
      rejects("version: 1\nlayers:\n  forbiddenFiles: ['**/[ab']\n"),
      /layers\.forbiddenFiles\[0\]: not a valid glob/,
    );
    assert.match(
      rejects("version: 1\nnaming:\n  projects: ['{a,b']\n"),
      /naming\.projects\[0\]: not a valid glob/,
    );
    assert.match(
      rejects("version: 1\nlayers:\n  allowedSetuid: ['']\n"),
      /layers\.allowedSetuid\[0\]: an empty glob/,
    );
  });

  it('refuses bad sizes', () => {
    assert.match(
      rejects('version: 1\nlayers: {maxImageSize: 5 XB}\n'),
      /layers\.maxImageSize: "5 XB" is not a size/,
    );
    assert.match(
      rejects('version: 1\nlayers: {maxLayerSize: -3}\n'),
      /layers\.maxLayerSize: -3 is not a size/,
    );
    assert.match(rejects('version: 1\nlayers: {maxLayers: 2.5}\n'), /layers\.maxLayers/);
  });

  it('requires a reason and a valid expiry on every ignore', () => {
    const base = 'version: 1\nvulnerabilities:\n  maxSeverity: HIGH\n  ignore:\n';
    assert.match(
      rejects(`${base}    - {id: CVE-1, expires: 2025-01-01}\n`),
      /vulnerabilities\.ignore\[0\]\.reason: required/,
    );
    assert.match(
      rejects(`${base}    - {id: CVE-1, reason: '  ', expires: 2025-01-01}\n`),
      /vulnerabilities\.ignore\[0\]\.reason: a reason is required/,
    );
    assert.match(
      rejects(`${base}    - {id: CVE-1, reason: r}\n`),
      /vulnerabilities\.ignore\[0\]\.expires: required/,
    );
    assert.match(
      rejects(`${base}    - {id: CVE-1, reason: r, expires: 2025-02-30}\n`),
      /vulnerabilities\.ignore\[0\]\.expires: "2025-02-30" is not a date/,
    );
    assert.match(rejects(`${base}    - {id: CVE-1, reason: r, expires: soon}\n`), /ignore\[0\]\.expires/);
  });

  it('refuses ambiguous or incomplete value rules and unknown enum values', () => {
    assert.match(
      rejects('version: 1\nlabels:\n  required:\n    - {key: a, format: url, pattern: x}\n'),
      /labels\.required\[0\]: give at most one of format, pattern, oneOf/,
    );
    assert.match(rejects('version: 1\nnaming:\n  tag: {}\n'), /naming\.tag: give exactly one of/);
    assert.match(
      rejects('version: 1\nlabels:\n  required:\n    - {key: a, format: date}\n'),
      /required\[0\]\.format: "date"/,
    );
    assert.match(
      rejects('version: 1\nvulnerabilities: {maxSeverity: high}\n'),
      /maxSeverity: "high" is not allowed/,
    );
    assert.match(
      rejects('version: 1\nlabels:\n  required: [a, b, a]\n'),
      /labels\.required\[2\]\.key: "a" is listed twice/,
    );
    assert.match(
      rejects('version: 1\nlabels:\n  required: [{in: labels}]\n'),
      /labels\.required\[0\]\.key: required/,
    );
  });
});

describe('loadAdmissionPolicy', () => {
  it('reads a file and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-policy-'));
    try {
      const good = join(dir, 'good.yaml');
      await writeFile(good, 'version: 1\nmode: warn\n');
      assert.equal((await loadAdmissionPolicy(good)).mode, 'warn');
      const bad = join(dir, 'bad.yaml');
      await writeFile(bad, 'version: 1\nnaming: {requireProject: yes please}\n');
      await assert.rejects(loadAdmissionPolicy(bad), (error: BerthError) => {
        assert.equal(error.code, 'POLICY_INVALID');
        assert.ok(error.message.includes(bad));
        assert.match(error.message, /naming\.requireProject: expected boolean/);
        return true;
      });
      await assert.rejects(loadAdmissionPolicy(join(dir, 'missing.yaml')), { code: 'POLICY_INVALID' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('accepts every policy in examples/', async () => {
    const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
    const files = (await readdir(examples)).filter((name) => /^policy.*\.ya?ml$/.test(name));
    assert.ok(files.length >= 2, `expected example policies in ${examples}`);
    for (const name of files) {
      const policy = await loadAdmissionPolicy(join(examples, name));
      assert.ok(policy.labels.length + policy.annotations.length > 0, `${name} requires no metadata`);
    }
  });
});

describe('globs', () => {
  const path = (glob: string, value: string) => fileGlobToRegExp(glob).test(value);
  it('matches a bare name at any depth and anchors globs with a slash', () => {
    assert.ok(path('id_rsa', 'id_rsa'));
    assert.ok(path('id_rsa', 'root/.ssh/id_rsa'));
    assert.ok(!path('id_rsa', 'root/.ssh/id_rsa.pub'));
    assert.ok(path('**/.env', '.env'));
    assert.ok(path('**/.env', 'app/.env'));
    assert.ok(path('/etc/*.conf', 'etc/a.conf'));
    assert.ok(!path('/etc/*.conf', 'etc/sub/a.conf'));
    assert.ok(!path('/etc/*.conf', 'usr/etc/a.conf'));
    assert.ok(path('etc/ssl/private/**', 'etc/ssl/private/x/key.pem'));
    assert.ok(!path('etc/ssl/private/**', 'etc/ssl/private'));
    assert.ok(path('**/.aws/credentials', 'root/.aws/credentials'));
  });

  it('understands ?, classes, negated classes and braces, and * takes dot files', () => {
    assert.ok(path('*.{key,p12}', 'srv/tls.p12'));
    assert.ok(!path('*.{key,p12}', 'srv/tls.crt'));
    assert.ok(path('id_?sa', 'id_rsa'));
    assert.ok(path('[a-c]x', 'bx'));
    assert.ok(!path('[a-c]x', 'dx'));
    assert.ok(path('[!a-c]x', 'dx'));
    assert.ok(!path('[!a-c]x', 'bx'));
    assert.ok(path('*', '.npmrc'));
    assert.ok(!pathGlobToRegExp('a?b').test('a/b'));
  });

  it('matches names whole, with * inside', () => {
    assert.ok(pathGlobToRegExp('team-*').test('team-a'));
    assert.ok(!pathGlobToRegExp('team-*').test('xteam-a'));
    assert.ok(pathGlobToRegExp('*-SNAPSHOT').test('1.0-SNAPSHOT'));
    assert.ok(pathGlobToRegExp('a.b').test('a.b') && !pathGlobToRegExp('a.b').test('axb'));
  });
});
