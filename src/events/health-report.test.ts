import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TagActivityRow } from '../metadata/report-store.js';
import { buildHealthReport, growthRatio, isStale, lastMonths, storageGrowth } from './health-report.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 8, 12); // 2026-12-08
const day = (iso: string): number => Math.floor(Date.parse(iso) / DAY);

describe('health report', () => {
  it('lists the last months, across a year boundary', () => {
    assert.deepEqual(lastMonths(Date.UTC(2026, 1, 15), 4), ['2025-11', '2025-12', '2026-01', '2026-02']);
    assert.deepEqual(lastMonths(NOW, 1), ['2026-12']);
  });

  it('sums storage per month with a running total that starts with what came before', () => {
    const rows = [
      { day: day('2026-01-10'), bytes: 100, blobs: 1 }, // before the months shown
      { day: day('2026-10-01'), bytes: 10, blobs: 1 },
      { day: day('2026-10-31'), bytes: 5, blobs: 1 },
      { day: day('2026-12-08'), bytes: 1, blobs: 1 },
    ];
    assert.deepEqual(storageGrowth(rows, NOW, 3), [
      { month: '2026-10', addedBytes: 15, totalBytes: 115 },
      { month: '2026-11', addedBytes: 0, totalBytes: 115 },
      { month: '2026-12', addedBytes: 1, totalBytes: 116 },
    ]);
  });

  const ratioCases: [string, { day: number; bytes: number; blobs: number }[], number | null][] = [
    ['nothing stored', [], null],
    ['only recent', [{ day: day('2026-12-01'), bytes: 50, blobs: 1 }], null],
    [
      'twice as much as the window before',
      [
        { day: day('2026-12-01'), bytes: 200, blobs: 1 },
        { day: day('2026-08-01'), bytes: 100, blobs: 1 },
        { day: day('2025-01-01'), bytes: 999, blobs: 1 }, // older than two windows: not compared
      ],
      2,
    ],
  ];
  for (const [name, rows, expected] of ratioCases) {
    it(`growth ratio: ${name}`, () => assert.equal(growthRatio(rows, NOW, 90), expected));
  }

  const tag = (pushed: string, pulled: string | null): TagActivityRow => ({
    repository: 'team/app',
    tag: 'v1',
    digest: 'sha256:aa',
    pushedAt: Date.parse(pushed),
    pulledAt: pulled === null ? null : Date.parse(pulled),
  });
  const staleCases: [string, TagActivityRow, boolean][] = [
    ['pushed long ago, never pulled', tag('2026-01-01', null), true],
    ['pushed long ago, pulled long ago', tag('2026-01-01', '2026-02-01'), true],
    ['pushed long ago, pulled last week', tag('2026-01-01', '2026-12-01'), false],
    ['pushed last week, never pulled', tag('2026-12-01', null), false],
    ['pushed exactly 90 days ago', tag(new Date(NOW - 90 * DAY).toISOString(), null), false],
  ];
  for (const [name, row, expected] of staleCases) {
    it(`stale: ${name}`, () => assert.equal(isStale(row, NOW, 90), expected));
  }

  it('builds the whole report: top lists, project scope, pushes refused, no scan data', () => {
    const report = buildHealthReport({
      now: NOW,
      project: 'team',
      windowDays: 90,
      staleDays: 90,
      months: 2,
      storedBytesByDay: [{ day: day('2026-12-01'), bytes: 300, blobs: 2 }],
      repositoryBytes: [
        { repository: 'team/small', bytes: 10 },
        { repository: 'team/big', bytes: 200 },
        { repository: 'other/huge', bytes: 9999 },
        { repository: 'team/empty', bytes: 0 },
      ],
      pushes: [{ repository: 'team/big', count: 3 }],
      pulls: [
        { repository: 'team/small', count: 7 },
        { repository: 'team/big', count: 7 },
      ],
      refusedPushes: [{ repository: 'team/locked', count: 2 }],
      tags: [tag('2026-01-01', null), tag('2026-12-01', null)],
      tagLimit: 1000,
    });
    assert.equal(report.project, 'team');
    assert.deepEqual(report.topBySize, [
      { repository: 'team/big', bytes: 200 },
      { repository: 'team/small', bytes: 10 },
    ]);
    assert.deepEqual(report.pulls, {
      available: true,
      total: 14,
      top: [
        { repository: 'team/big', pulls: 7 },
        { repository: 'team/small', pulls: 7 },
      ],
    });
    assert.equal(report.stale.count, 1);
    assert.equal(report.stale.partial, false);
    assert.equal(report.stale.tags[0]?.lastPulledAt, null);
    assert.equal(report.pushes.succeeded, 3);
    assert.equal(report.pushes.refused, 2);
    assert.deepEqual(report.pushes.byRepository, [{ repository: 'team/locked', succeeded: 0, refused: 2 }]);
    assert.equal(report.vulnerabilities.available, false);
    assert.equal(report.storage.totalBytes, 300);
  });

  it('says pulls are not available when events are off, and flags a truncated tag list', () => {
    const report = buildHealthReport({
      now: NOW,
      windowDays: 90,
      staleDays: 90,
      months: 1,
      storedBytesByDay: [],
      repositoryBytes: [],
      pushes: undefined,
      pulls: undefined,
      refusedPushes: [{ repository: 'a/b', count: 1 }],
      tags: [tag('2026-01-01', null)],
      tagLimit: 1,
    });
    assert.equal(report.pulls.available, false);
    assert.equal(report.pushes.succeeded, null);
    assert.deepEqual(report.pushes.byRepository, [{ repository: 'a/b', succeeded: null, refused: 1 }]);
    assert.equal(report.stale.partial, true);
    assert.deepEqual(report.storage.months, [{ month: '2026-12', addedBytes: 0, totalBytes: 0 }]);
  });
});
