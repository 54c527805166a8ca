import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// The terminal rendering moved to the CLI; its cases stay here, where the reports are built.
import { formatAdmissionReport } from '../cli/output/admission-report.js';
import { parseImageReference } from '../oci/reference.js';
import {
  type AdmissionCheck,
  type AdmissionFile,
  type AdmissionFinding,
  type AdmissionInput,
  type AdmissionReport,
  evaluateAdmission,
  policyNeedsFiles,
  policyNeedsVulnerabilities,
} from './admission-check.js';
import { parseAdmissionPolicy } from './admission-policy.js';

const NOW = new Date('2025-06-15T12:00:00Z');
const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;

function input(extra: Partial<AdmissionInput> = {}): AdmissionInput {
  return {
    labels: {},
    annotations: {},
    imageSize: 1000,
    layers: [
      { index: 0, digest: DIGEST_A, size: 600 },
      { index: 1, digest: DIGEST_B, size: 390 },
    ],
    ...extra,
  };
}

function evaluate(policyYaml: string, extra: Partial<AdmissionInput> = {}, now = NOW): AdmissionReport {
  return evaluateAdmission(
    parseAdmissionPolicy(`version: 1\n${policyYaml}`, 'test-policy.yaml'),
    input(extra),
    now,
  );
}

function check(report: AdmissionReport, id: string): AdmissionCheck {
  const found = report.checks.find((c) => c.id === id);
  assert.ok(found, `no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
  return found;
}

function dest(raw: string): AdmissionInput['destination'] {
  return parseImageReference(raw);
}

function file(path: string, extra: Partial<AdmissionFile> = {}): AdmissionFile {
  return {
    path,
    layerIndex: 0,
    layerDigest: DIGEST_A,
    mode: 0o644,
    size: 10,
    type: 'file',
    removedLater: false,
    ...extra,
  };
}

function finding(
  id: string,
  severity: AdmissionFinding['severity'],
  extra: Partial<AdmissionFinding> = {},
): AdmissionFinding {
  return {
    id,
    aliases: [],
    packageName: 'openssl',
    installedVersion: '3.0.1',
    fixedVersion: '3.0.2',
    severity,
    ...extra,
  };
}

describe('labels and annotations', () => {
  const label = (key: string, value: string, rule = '') =>
    check(
      evaluate(`labels:\n  required:\n    - {key: ${key}${rule}}\n`, { labels: { [key]: value } }),
      `labels:${key}`,
    );
  const CREATED = 'org.opencontainers.image.created';

  it('checks created as an RFC 3339 date-time', () => {
    for (const good of [
      '2024-05-01T10:00:00Z',
      '2024-05-01t10:00:00.123456z',
      '2024-05-01T10:00:00+02:00',
      '2024-02-29T23:59:60Z',
    ]) {
      assert.equal(label(CREATED, good).status, 'pass', good);
    }
    for (const bad of [
      'yesterday',
      '2024-05-01',
      '2024-05-01 10:00:00Z',
      '2024-05-01T10:00:00',
      '2023-02-29T10:00:00Z',
      '2024-13-01T10:00:00Z',
      '2024-05-01T24:00:00Z',
      '2024-05-01T10:00:00+25:00',
    ]) {
      assert.equal(label(CREATED, bad).status, 'fail', bad);
    }
    assert.equal(
      label(CREATED, 'yesterday').message,
      'label org.opencontainers.image.created is "yesterday": not an RFC 3339 date-time',
    );
  });

  it('checks authors as e-mail addresses, with names and lists', () => {
    const key = 'org.opencontainers.image.authors';
    for (const good of ['ann@example.org', 'Ann Lee <ann@example.org>', 'ann@example.org, Bob <bob@x.io>']) {
      assert.equal(label(key, good).status, 'pass', good);
    }
    for (const bad of ['Ann Lee', 'ann@localhost', 'ann@example.org,', 'Ann <ann at example.org>', '']) {
      assert.equal(label(key, bad).status, 'fail', bad);
    }
  });

  it('checks source as an http, https, git or ssh URL', () => {
    const key = 'org.opencontainers.image.source';
    for (const good of [
      'https://github.com/acme/app',
      'http://git.example.org/app.git',
      'git://example.org/app',
    ]) {
      assert.equal(label(key, good).status, 'pass', good);
    }
    for (const bad of ['github.com/acme/app', 'ftp://example.org/app', 'file:///src', ' https://x.org']) {
      assert.equal(label(key, bad).status, 'fail', bad);
    }
  });

  it('checks version as strict semver', () => {
    const key = 'org.opencontainers.image.version';
    for (const good of ['1.2.3', '1.2.3-rc.1', '1.2.3+build.5'])
      assert.equal(label(key, good).status, 'pass', good);
    for (const bad of ['v1.2.3', '1.2', 'latest', '1.2.3 '])
      assert.equal(label(key, bad).status, 'fail', bad);
  });

  it('checks custom keys by pattern, list and nonempty', () => {
    assert.equal(label('team', 'payments', ", pattern: '^[a-z]+$'").status, 'pass');
    const bad = label('team', 'Payments!', ", pattern: '^[a-z]+$'");
    assert.equal(bad.status, 'fail');
    assert.equal(bad.message, 'label team is "Payments!": not a match for /^[a-z]+$/');
    assert.equal(label('tier', 'gold', ', oneOf: [gold, silver]').status, 'pass');
    assert.match(label('tier', 'bronze', ', oneOf: [gold, silver]').message, /not one of "gold", "silver"/);
    assert.equal(label('owner', 'x').status, 'pass');
    assert.equal(label('owner', '  ').message, 'label owner is "  ": empty');
    // A format named explicitly overrides the built-in one.
    assert.equal(label(CREATED, 'anything', ', format: nonempty').status, 'pass');
  });

  it('fails a missing key, and looks only where the rule says', () => {
    const policy = 'labels:\n  required: [app.version]\nannotations:\n  required: [app.sbom]\n';
    const report = evaluate(policy, { labels: { 'app.sbom': 'yes' }, annotations: { 'app.version': '1' } });
    assert.equal(check(report, 'labels:app.version').message, 'label app.version is missing');
    assert.equal(check(report, 'annotations:app.sbom').message, 'annotation app.sbom is missing');
    assert.equal(report.passed, false);
  });

  it('lets either place satisfy an `in: either` rule, and checks every copy', () => {
    const key = 'org.opencontainers.image.source';
    const policy = `annotations:\n  required:\n    - {key: ${key}, in: either}\n`;
    const fromLabel = evaluate(policy, { labels: { [key]: 'https://x.org/a' } });
    assert.equal(check(fromLabel, `annotations:${key}`).status, 'pass');
    const both = evaluate(policy, {
      labels: { [key]: 'https://x.org/a' },
      annotations: { [key]: 'x.org/a' },
    });
    assert.equal(
      check(both, `annotations:${key}`).message,
      `annotation ${key} is "x.org/a": not an http(s), git or ssh URL`,
    );
    const neither = evaluate(policy);
    assert.equal(check(neither, `annotations:${key}`).message, `label or annotation ${key} is missing`);
  });
});

describe('naming', () => {
  const NAMING = `naming:
  requireProject: true
  hosts: [registry.example.com]
  projects: ['team-*', prod]
  image: '^[a-z0-9-]+(/[a-z0-9-]+)*$'
  tag:
    format: semver
  forbiddenTags: [latest]
  overrides:
    - projects: [prod]
      tag:
        pattern: '^\\d+\\.\\d+\\.\\d+(-(eu|us))?$'
      forbiddenTags: [latest, '*-rc*']
`;
  const naming = (ref: string) => evaluate(NAMING, { destination: dest(ref) });
  const statuses = (report: AdmissionReport) =>
    Object.fromEntries(report.checks.filter((c) => c.rule === 'naming').map((c) => [c.id, c.status]));

  it('passes a well-formed destination', () => {
    assert.deepEqual(statuses(naming('registry.example.com/team-a/tools/lint:1.2.0-beta.1')), {
      'naming:form': 'pass',
      'naming:host': 'pass',
      'naming:project': 'pass',
      'naming:image': 'pass',
      'naming:tag': 'pass',
      'naming:forbidden-tag': 'pass',
    });
  });

  it('fails a repository without a project, a wrong host, an unknown project and a bad image name', () => {
    const flat = naming('other.example.com/app:1.0.0');
    assert.equal(check(flat, 'naming:form').status, 'fail');
    assert.match(check(flat, 'naming:form').message, /has no project: expected HOST\/PROJECT\/IMAGE/);
    assert.equal(check(flat, 'naming:host').status, 'fail');
    assert.equal(check(flat, 'naming:project').status, 'fail');
    const stranger = naming('registry.example.com/sandbox/app_x:1.0.0');
    assert.equal(
      check(stranger, 'naming:project').message,
      'project sandbox is not allowed (allowed: team-*, prod)',
    );
    assert.equal(check(stranger, 'naming:image').status, 'fail');
  });

  it('applies the tag rules, forbidden tags and digest-only destinations', () => {
    assert.equal(check(naming('registry.example.com/team-a/app:v1'), 'naming:tag').status, 'fail');
    const latest = naming('registry.example.com/team-a/app:latest');
    assert.equal(check(latest, 'naming:forbidden-tag').message, 'tag latest is forbidden (matches latest)');
    const digestOnly = naming(`registry.example.com/team-a/app@${DIGEST_A}`);
    assert.equal(check(digestOnly, 'naming:tag').status, 'fail');
    assert.match(check(digestOnly, 'naming:tag').message, /has no tag \(digest only\)/);
    assert.equal(check(digestOnly, 'naming:forbidden-tag').status, 'pass');
  });

  it('lets a project override replace the tag rules', () => {
    // 1.2.0-beta.1 is semver (fine in team-a) but not a prod release tag.
    const beta = naming('registry.example.com/prod/app:1.2.0-beta.1');
    assert.equal(check(beta, 'naming:tag').status, 'fail');
    assert.match(check(beta, 'naming:tag').message, /\(rules for project prod\)/);
    assert.equal(check(naming('registry.example.com/prod/app:1.2.0-eu'), 'naming:tag').status, 'pass');
    assert.equal(
      check(naming('registry.example.com/prod/app:1.2.0-rc1'), 'naming:forbidden-tag').status,
      'fail',
    );
    assert.equal(
      check(naming('registry.example.com/team-a/app:1.2.0-rc1'), 'naming:forbidden-tag').status,
      'pass',
    );
    // The image rule is not overridden, so the base rule still applies in prod.
    const image = check(naming('registry.example.com/prod/app.x:1.2.0'), 'naming:image');
    assert.equal(image.status, 'fail');
    assert.doesNotMatch(image.message, /rules for project/);
  });

  it('skips naming without a destination', () => {
    const report = evaluate(NAMING);
    const namingChecks = report.checks.filter((c) => c.rule === 'naming');
    assert.deepEqual(
      namingChecks.map((c) => [c.id, c.status]),
      [['naming', 'skip']],
    );
    assert.equal(report.passed, true);
  });
});

describe('layers', () => {
  const LAYERS = 'layers:\n  maxImageSize: 1KiB\n  maxLayers: 2\n  maxLayerSize: 500\n';

  it('a layer that could not be read fails the image, whatever the rules say', () => {
    const report = evaluate('labels: {required: []}\n', {
      unreadableLayers: ['layer 2 (sha256:…): unexpected end'],
    });
    assert.equal(report.passed, false);
    assert.equal(report.refused, true);
    assert.deepEqual(check(report, 'layers.readable').items, ['layer 2 (sha256:…): unexpected end']);
    assert.equal(evaluate('labels: {required: []}\n', { unreadableLayers: [] }).passed, true);
  });

  it('passes within the limits and fails over them', () => {
    const within = evaluate(LAYERS, {
      imageSize: 1024,
      layers: [
        { index: 0, digest: DIGEST_A, size: 500 },
        { index: 1, digest: DIGEST_B, size: 400 },
      ],
    });
    assert.deepEqual(
      within.checks.map((c) => c.status),
      ['pass', 'pass', 'pass'],
    );
    const over = evaluate(LAYERS, {
      imageSize: 1025,
      layers: [
        { index: 0, digest: DIGEST_A, size: 501 },
        { index: 1, digest: DIGEST_B, size: 400 },
        { index: 2, digest: DIGEST_B, size: 124 },
      ],
    });
    assert.equal(
      check(over, 'layers:max-image-size').message,
      'image is 1.00 KiB (1025 bytes): over the 1.00 KiB limit',
    );
    assert.equal(check(over, 'layers:max-layers').message, 'image has 3 layers: over the limit of 2');
    const big = check(over, 'layers:max-layer-size');
    assert.equal(big.status, 'fail');
    assert.deepEqual(big.items, [`layer 0 sha256:aaaaaaaaaaaa is 501 B (501 bytes)`]);
  });
});

describe('files', () => {
  const FILES = `layers:
  forbiddenFiles: ['**/id_rsa', '**/.env', '/etc/ssl/private/**', '**/*.key']
  allowedFiles: ['/usr/share/doc/**']
  setuid: deny
  allowedSetuid: [/usr/bin/passwd, /bin/su]
  setgid: deny
  allowedSetgid: [/usr/bin/chage]
`;

  it('finds forbidden files in every layer, and says when a later layer removed them', () => {
    const report = evaluate(FILES, {
      files: [
        file('./root/.ssh/id_rsa', { removedLater: true }),
        file('app/.env', { layerIndex: 1, layerDigest: DIGEST_B }),
        file('root/.ssh/id_rsa.pub'),
        file('usr/share/doc/example/.env'),
        file('etc/ssl/private', { type: 'dir', mode: 0o700 }),
        // The whiteout marker deleting /srv/tls.key is not a key.
        file('srv/.wh.tls.key', { layerIndex: 1, layerDigest: DIGEST_B }),
      ],
    });
    const forbidden = check(report, 'files:forbidden');
    assert.equal(forbidden.status, 'fail');
    assert.equal(forbidden.message, '2 forbidden files in the layers');
    assert.deepEqual(forbidden.items, [
      '/root/.ssh/id_rsa in layer 0 sha256:aaaaaaaaaaaa (matches **/id_rsa); removed by a later layer, but still shipped in this one',
      '/app/.env in layer 1 sha256:bbbbbbbbbbbb (matches **/.env)',
    ]);
  });

  it('passes clean layers', () => {
    const report = evaluate(FILES, { files: [file('etc/passwd'), file('usr/bin/passwd', { mode: 0o4755 })] });
    assert.deepEqual(
      report.checks.map((c) => [c.id, c.status]),
      [
        ['files:forbidden', 'pass'],
        ['files:setuid', 'pass'],
        ['files:setgid', 'pass'],
      ],
    );
  });

  it('refuses setuid and setgid files outside their allow-lists', () => {
    const report = evaluate(FILES, {
      files: [
        file('/usr/bin/passwd', { mode: 0o104755 }),
        file('/bin/su', { mode: 0o4755, type: 'hardlink' }),
        file('/usr/local/bin/rootme', { mode: 0o4755, layerIndex: 1, layerDigest: DIGEST_B }),
        file('/usr/bin/chage', { mode: 0o2755 }),
        file('/usr/bin/wall', { mode: 0o2755 }),
        // A setgid directory is ordinary (/var/mail), and a removed file cannot run.
        file('/var/mail', { mode: 0o2775, type: 'dir' }),
        file('/usr/bin/old', { mode: 0o4755, removedLater: true }),
      ],
    });
    assert.deepEqual(check(report, 'files:setuid').items, [
      '/usr/local/bin/rootme in layer 1 sha256:bbbbbbbbbbbb (mode 4755)',
    ]);
    assert.deepEqual(check(report, 'files:setgid').items, [
      '/usr/bin/wall in layer 0 sha256:aaaaaaaaaaaa (mode 2755)',
    ]);
  });

  it('allows setuid when the policy says allow', () => {
    const report = evaluate("layers:\n  forbiddenFiles: ['**/id_rsa']\n", {
      files: [file('/usr/local/bin/rootme', { mode: 0o4755 })],
    });
    assert.deepEqual(
      report.checks.map((c) => c.id),
      ['files:forbidden'],
    );
    assert.equal(report.passed, true);
  });

  it('reads the files once, so a stream of entries works', () => {
    let passes = 0;
    const entries = {
      *[Symbol.iterator]() {
        passes++;
        yield file('/usr/local/bin/x', { mode: 0o6755 });
        yield file('/home/u/.env');
      },
    };
    const report = evaluate(FILES, { files: entries });
    assert.equal(passes, 1);
    assert.deepEqual(
      report.checks.map((c) => c.status),
      ['fail', 'fail', 'fail'],
    );
  });

  it('skips file rules when the layers were not read', () => {
    const report = evaluate(FILES);
    assert.deepEqual(
      report.checks.map((c) => [c.id, c.status]),
      [
        ['files:forbidden', 'skip'],
        ['files:setuid', 'skip'],
        ['files:setgid', 'skip'],
      ],
    );
    assert.equal(report.passed, true);
  });
});

describe('vulnerabilities', () => {
  const VULNS = `vulnerabilities:
  maxSeverity: MEDIUM
  ignore:
    - id: CVE-2024-0001
      reason: not reachable from the service
      expires: 2025-06-15
    - id: CVE-2024-0002
      reason: only in the CLI
      expires: 2025-06-14
    - id: GHSA-aaaa-bbbb-cccc
      reason: patched in our fork
      expires: 2026-01-01
      packages: [lodash]
`;

  it('fails findings above the highest allowed severity, and only those', () => {
    const ok = evaluate(VULNS, { vulnerabilities: [finding('DSA-1', 'MEDIUM'), finding('DSA-2', 'LOW')] });
    assert.equal(check(ok, 'vulnerabilities:max-severity').status, 'pass');
    const bad = evaluate(VULNS, {
      vulnerabilities: [
        finding('DSA-3', 'HIGH', { aliases: ['CVE-2024-9999'] }),
        finding('DSA-2', 'MEDIUM'),
        finding('DSA-4', 'CRITICAL', {
          fixedVersion: undefined,
          packageName: 'glibc',
          installedVersion: '2.36',
        }),
      ],
    });
    const result = check(bad, 'vulnerabilities:max-severity');
    assert.equal(result.status, 'fail');
    assert.equal(result.message, '2 findings above the limit (1 CRITICAL, 1 HIGH; highest allowed MEDIUM)');
    assert.deepEqual(result.items, [
      'CRITICAL DSA-4 in glibc 2.36, no fix yet',
      'HIGH DSA-3 (CVE-2024-9999) in openssl 3.0.1, fixed in 3.0.2',
    ]);
  });

  it('ranks UNKNOWN below LOW, and NONE refuses everything', () => {
    const low = evaluate('vulnerabilities: {maxSeverity: LOW}\n', {
      vulnerabilities: [finding('X-1', 'UNKNOWN')],
    });
    assert.equal(check(low, 'vulnerabilities:max-severity').status, 'pass');
    const none = evaluate('vulnerabilities: {maxSeverity: NONE}\n', {
      vulnerabilities: [finding('X-1', 'UNKNOWN')],
    });
    assert.equal(check(none, 'vulnerabilities:max-severity').status, 'fail');
    assert.equal(
      check(
        evaluate('vulnerabilities: {maxSeverity: NONE}\n', { vulnerabilities: [] }),
        'vulnerabilities:max-severity',
      ).status,
      'pass',
    );
  });

  it('applies ignores by id or alias until the end of their expiry day, limited to their packages', () => {
    const findings = [
      finding('DSA-10', 'HIGH', { aliases: ['CVE-2024-0001'] }),
      finding('GHSA-aaaa-bbbb-cccc', 'CRITICAL', { packageName: 'lodash', installedVersion: '4.17.20' }),
      finding('GHSA-aaaa-bbbb-cccc', 'CRITICAL', { packageName: 'underscore', installedVersion: '1.0.0' }),
    ];
    // 2025-06-15 is the last day of the first ignore.
    const lastDay = evaluate(VULNS, { vulnerabilities: findings }, new Date('2025-06-15T23:59:59.999Z'));
    assert.deepEqual(check(lastDay, 'vulnerabilities:max-severity').items, [
      'CRITICAL GHSA-aaaa-bbbb-cccc in underscore 1.0.0, fixed in 3.0.2',
    ]);
    assert.deepEqual(check(lastDay, 'vulnerabilities:ignored').items, [
      'CRITICAL GHSA-aaaa-bbbb-cccc in lodash 4.17.20, fixed in 3.0.2: ignored until 2026-01-01 (patched in our fork)',
      'HIGH DSA-10 (CVE-2024-0001) in openssl 3.0.1, fixed in 3.0.2: ignored until 2025-06-15 (not reachable from the service)',
    ]);
    const nextDay = evaluate(VULNS, { vulnerabilities: findings }, new Date('2025-06-16T00:00:00Z'));
    assert.deepEqual(check(nextDay, 'vulnerabilities:max-severity').items, [
      'CRITICAL GHSA-aaaa-bbbb-cccc in underscore 1.0.0, fixed in 3.0.2',
      'HIGH DSA-10 (CVE-2024-0001) in openssl 3.0.1, fixed in 3.0.2 (its ignore expired 2025-06-15)',
    ]);
    const expired = check(nextDay, 'vulnerabilities:ignore-expired:CVE-2024-0001');
    assert.equal(expired.status, 'warn');
    assert.equal(
      expired.message,
      'ignore of CVE-2024-0001 expired 2025-06-15 (not reachable from the service): no longer applied',
    );
  });

  it('warns about expired ignores even when nothing matches them', () => {
    const report = evaluate(VULNS, { vulnerabilities: [] });
    assert.deepEqual(
      report.checks.map((c) => [c.id, c.status]),
      [
        ['vulnerabilities:max-severity', 'pass'],
        ['vulnerabilities:ignore-expired:CVE-2024-0002', 'warn'],
      ],
    );
    assert.equal(report.passed, true);
    assert.equal(report.counts.warn, 1);
  });

  it('ignores unfixed findings when asked', () => {
    const policy = 'vulnerabilities: {maxSeverity: LOW, ignoreUnfixed: true}\n';
    const report = evaluate(policy, {
      vulnerabilities: [finding('X-1', 'HIGH', { fixedVersion: undefined }), finding('X-2', 'HIGH')],
    });
    assert.deepEqual(check(report, 'vulnerabilities:max-severity').items, [
      'HIGH X-2 in openssl 3.0.1, fixed in 3.0.2',
    ]);
    assert.deepEqual(check(report, 'vulnerabilities:ignored').items, [
      'HIGH X-1 in openssl 3.0.1, no fix yet: ignored (ignoreUnfixed)',
    ]);
    const onlyUnfixed = evaluate(policy, {
      vulnerabilities: [finding('X-1', 'HIGH', { fixedVersion: undefined })],
    });
    assert.equal(
      check(onlyUnfixed, 'vulnerabilities:max-severity').message,
      '1 finding, none above the limit once 1 ignored (highest allowed LOW)',
    );
  });

  it('skips when the image was not scanned', () => {
    const report = evaluate('vulnerabilities: {maxSeverity: HIGH}\n');
    assert.equal(check(report, 'vulnerabilities:max-severity').status, 'skip');
    assert.equal(report.passed, true);
  });
});

describe('the report', () => {
  const POLICY = `labels:
  required: [org.opencontainers.image.version]
naming:
  forbiddenTags: [latest]
layers:
  maxLayers: 1
vulnerabilities:
  maxSeverity: HIGH
`;
  const IMAGE: Partial<AdmissionInput> = {
    labels: { 'org.opencontainers.image.version': '1.0.0' },
    destination: dest('registry.example.com/team/app:latest'),
  };

  it('keeps a fixed order and counts', () => {
    const report = evaluate(POLICY, IMAGE);
    assert.deepEqual(
      report.checks.map((c) => [c.rule, c.status]),
      [
        ['labels', 'pass'],
        ['naming', 'fail'],
        ['layers', 'fail'],
        ['vulnerabilities', 'skip'],
      ],
    );
    assert.deepEqual(report.counts, { pass: 1, fail: 2, warn: 0, skip: 1, total: 4 });
    assert.equal(report.passed, false);
    assert.equal(report.refused, true);
    assert.equal(report.mode, 'enforce');
    assert.equal(report.policy, 'test-policy.yaml');
    // Plain JSON for --json.
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
    assert.deepEqual(evaluate(POLICY, IMAGE), report);
  });

  it('keeps failures as failures in warn mode, but does not refuse', () => {
    const report = evaluate(`mode: warn\n${POLICY}`, IMAGE);
    assert.equal(check(report, 'naming:forbidden-tag').status, 'fail');
    assert.equal(report.passed, false);
    assert.equal(report.refused, false);
    assert.match(formatAdmissionReport(report), /FAILED \(warn mode: not enforced\)/);
    // --warn-only is the same policy with its mode replaced.
    const policy = parseAdmissionPolicy(`version: 1\n${POLICY}`, 'p.yaml');
    assert.equal(evaluateAdmission({ ...policy, mode: 'warn' }, input(IMAGE), NOW).refused, false);
  });

  it('formats one line per check, indented items and a summary', () => {
    const report = evaluate(POLICY, {
      ...IMAGE,
      layers: [
        { index: 0, digest: DIGEST_A, size: 1 },
        { index: 1, digest: DIGEST_B, size: 1 },
      ],
      vulnerabilities: [finding('X-1', 'CRITICAL')],
    });
    assert.equal(
      formatAdmissionReport(report),
      [
        'PASS  label org.opencontainers.image.version is a semantic version',
        'FAIL  tag latest is forbidden (matches latest)',
        'FAIL  image has 2 layers: over the limit of 1',
        'FAIL  1 finding above the limit (1 CRITICAL; highest allowed HIGH)',
        '        CRITICAL X-1 in openssl 3.0.1, fixed in 3.0.2',
        'policy test-policy.yaml: FAILED: image refused (4 checks: 1 passed, 3 failed, 0 warnings, 0 skipped)',
        '',
      ].join('\n'),
    );
  });

  it('shortens long item lists on the terminal', () => {
    const files = Array.from({ length: 25 }, (_, i) => file(`/srv/k${String(i).padStart(2, '0')}/id_rsa`));
    const report = evaluate("layers:\n  forbiddenFiles: ['**/id_rsa']\n", { files });
    assert.equal(check(report, 'files:forbidden').items?.length, 25);
    const text = formatAdmissionReport(report);
    assert.match(text, /\/srv\/k19\/id_rsa/);
    assert.doesNotMatch(text, /\/srv\/k20\/id_rsa/);
    assert.match(text, /\.\.\. and 5 more \(see --json\)/);
  });

  it('passes an image that meets every rule', () => {
    const report = evaluate(POLICY, {
      labels: { 'org.opencontainers.image.version': '1.0.0' },
      destination: dest('registry.example.com/team/app:1.0.0'),
      layers: [{ index: 0, digest: DIGEST_A, size: 1 }],
      vulnerabilities: [finding('X-1', 'HIGH')],
    });
    assert.equal(report.passed, true);
    assert.equal(report.refused, false);
    assert.match(formatAdmissionReport(report), /policy test-policy.yaml: passed \(4 checks: 4 passed/);
  });
});

describe('what the CLI must collect', () => {
  it('reads layers only for file rules and scans only for vulnerability rules', () => {
    const needs = (yaml: string) => {
      const policy = parseAdmissionPolicy(`version: 1\n${yaml}`, 'p.yaml');
      return [policyNeedsFiles(policy), policyNeedsVulnerabilities(policy)];
    };
    assert.deepEqual(needs(''), [false, false]);
    assert.deepEqual(needs('layers: {maxLayers: 3, allowedSetuid: [/bin/su]}\n'), [false, false]);
    assert.deepEqual(needs('layers: {setgid: deny}\n'), [true, false]);
    assert.deepEqual(needs("layers: {forbiddenFiles: ['.env']}\n"), [true, false]);
    assert.deepEqual(needs('vulnerabilities: {maxSeverity: CRITICAL}\n'), [false, true]);
  });
});
