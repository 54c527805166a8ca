import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OsvRecord } from './osv/osv-record.js';
import {
  compareFindings,
  compareSeverity,
  parseSeverity,
  recordSeverity,
  severityFromCvss,
  severityFromScore,
  severityFromWord,
  severityRank,
} from './severity.js';
import { SEVERITIES } from './types.js';

const record = (extra: Partial<OsvRecord>): OsvRecord => ({
  id: 'X-1',
  modified: '2025-01-01T00:00:00Z',
  ...extra,
});

describe('severity', () => {
  test('CVSS v3.1 vectors score per the specification', () => {
    assert.deepEqual(severityFromCvss('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), {
      severity: 'CRITICAL',
      score: 9.8,
      vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      version: '3.1',
    });
    assert.equal(severityFromCvss('CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N')?.score, 5.9);
    assert.equal(severityFromCvss('CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N')?.severity, 'MEDIUM');
    assert.equal(severityFromCvss('CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N')?.severity, 'CRITICAL');
    assert.equal(severityFromCvss('CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H')?.severity, 'HIGH');
    assert.equal(severityFromCvss('CVSS:3.1/AV:L/AC:H/PR:N/UI:R/S:U/C:N/I:L/A:N')?.severity, 'LOW');
  });

  test('CVSS v4.0 vectors score per the specification', () => {
    const rating = severityFromCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N');
    assert.equal(rating?.score, 9.3);
    assert.equal(rating?.severity, 'CRITICAL');
    assert.equal(
      severityFromCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N')?.severity,
      'MEDIUM',
    );
  });

  test('CVSS v2 has no critical band', () => {
    const rating = severityFromCvss('AV:N/AC:L/Au:N/C:C/I:C/A:C');
    assert.equal(rating?.score, 10);
    assert.equal(rating?.severity, 'HIGH');
  });

  test('bad vectors give nothing and never throw', () => {
    for (const bad of [
      '',
      'garbage',
      'CVSS:3.1/AV:N/AC:L',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H',
      'CVSS:3.1/AV:Z/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      'CVSS:9.9/AV:N',
      'CVSS:4.0/AV:N/AC:L',
      'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/QQ:Z',
    ])
      assert.equal(severityFromCvss(bad), undefined, bad);
  });

  test('the qualitative table, edges included', () => {
    const cases: [number, string][] = [
      [0, 'UNKNOWN'],
      [0.1, 'LOW'],
      [3.9, 'LOW'],
      [4, 'MEDIUM'],
      [6.9, 'MEDIUM'],
      [7, 'HIGH'],
      [8.9, 'HIGH'],
      [9, 'CRITICAL'],
      [10, 'CRITICAL'],
    ];
    for (const [score, expected] of cases) assert.equal(severityFromScore(score), expected, String(score));
  });

  test('database words', () => {
    const cases: [string, string | undefined][] = [
      ['critical', 'CRITICAL'],
      ['HIGH', 'HIGH'],
      ['Important', 'HIGH'],
      ['MODERATE', 'MEDIUM'],
      ['medium', 'MEDIUM'],
      ['low', 'LOW'],
      ['low**', 'LOW'],
      ['negligible', 'LOW'],
      ['unimportant', 'LOW'],
      ['not yet assigned', undefined],
      ['whatever', undefined],
    ];
    for (const [word, expected] of cases) assert.equal(severityFromWord(word), expected, word);
    assert.equal(severityFromWord(7), undefined);
  });

  test('a record prefers the highest CVSS version that parses, the package’s own vectors first', () => {
    const r = record({
      severity: [
        { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
        { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N' },
      ],
      database_specific: { severity: 'LOW' },
    });
    assert.deepEqual(recordSeverity(r), {
      severity: 'MEDIUM',
      score: 6.9,
      vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N',
    });
    const broken = record({
      severity: [
        { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N' },
        { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
      ],
    });
    assert.equal(recordSeverity(broken).severity, 'CRITICAL');
    const affected = {
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:L/AC:H/PR:N/UI:R/S:U/C:N/I:L/A:N' }],
    };
    assert.equal(recordSeverity(r, affected).severity, 'LOW');
  });

  test('without a vector: package words, then Ubuntu priority, then the record’s word, else UNKNOWN', () => {
    assert.equal(
      recordSeverity(record({ database_specific: { severity: 'HIGH' } }), {
        ecosystem_specific: { severity: 'medium' },
      }).severity,
      'MEDIUM',
    );
    assert.equal(
      recordSeverity(record({ severity: [{ type: 'Ubuntu', score: 'negligible' }] })).severity,
      'LOW',
    );
    assert.equal(recordSeverity(record({ database_specific: { severity: 'MODERATE' } })).severity, 'MEDIUM');
    assert.deepEqual(recordSeverity(record({})), { severity: 'UNKNOWN' });
    assert.deepEqual(recordSeverity(record({ severity: [{ type: 'CVSS_V3', score: 'nonsense' }] })), {
      severity: 'UNKNOWN',
    });
  });

  test('a zero score keeps its vector but takes the word when there is one', () => {
    const r = record({
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N' }],
      database_specific: { severity: 'low' },
    });
    assert.deepEqual(recordSeverity(r), {
      severity: 'LOW',
      score: 0,
      vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N',
    });
  });

  test('one order: CRITICAL ranks highest, UNKNOWN below LOW; findings sort most severe first', () => {
    assert.deepEqual(SEVERITIES.map(severityRank), [5, 4, 3, 2, 1]);
    assert.deepEqual((['LOW', 'UNKNOWN', 'CRITICAL', 'HIGH'] as const).map((s) => s).sort(compareSeverity), [
      'CRITICAL',
      'HIGH',
      'LOW',
      'UNKNOWN',
    ]);
    assert.equal(parseSeverity(' high '), 'HIGH');
    assert.equal(parseSeverity('NONE'), undefined);
    const finding = (severity: (typeof SEVERITIES)[number], packageName: string, id: string) => ({
      severity,
      packageName,
      id,
      installedVersion: '1',
    });
    const sorted = [
      finding('LOW', 'a', 'X-1'),
      finding('HIGH', 'b', 'X-2'),
      finding('HIGH', 'a', 'X-3'),
    ].sort(compareFindings);
    assert.deepEqual(
      sorted.map((f) => f.id),
      ['X-3', 'X-2', 'X-1'],
    );
  });
});
