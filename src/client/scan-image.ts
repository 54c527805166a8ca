import { filterFindings, findingsAtOrAbove, type ScanResult } from '../scan/findings-report.js';
import { openAdvisoryDb } from '../scan/osv/advisory-db.js';
import type { Finding, Severity } from '../scan/types.js';
import { matchVulnerabilities } from '../scan/vulnerability-matcher.js';
import { examineImage } from './image-examination.js';
import type { ImageLocation } from './image-location.js';
import { withImageSource } from './image-source-scope.js';
import type { SessionSettings } from './session-settings.js';
import { scanWithTrivy } from './trivy-scan.js';

/** The version Berth reports itself as in SBOMs and SARIF. */
export const BERTH_VERSION = '0.1.0';

export type Scanner = 'berth' | 'trivy';

export interface ScanImageOptions {
  location: ImageLocation;
  session: SessionSettings;
  /** `berth` (built in: the image's inventory against the offline database) or `trivy` (from PATH). */
  scanner: Scanner;
  /** The advisory database (the built-in scanner only); it must exist. */
  advisoryDb: string;
  platform?: string | undefined;
  /** Each layer as it is read, for a progress line. */
  onLayer?: (scan: { index: number; uncompressedSize: number }) => void;
}

/**
 * Finds the known vulnerabilities of an image: its package inventory matched against the advisory database
 * (opened first, so that a missing one fails before minutes of layer reading), or Trivy's report in the
 * same model. A layer that cannot be read makes the result `incomplete`.
 */
export async function scanImage(options: ScanImageOptions): Promise<ScanResult> {
  if (options.scanner === 'trivy') return scanWithTrivy(options.location);
  const db = openAdvisoryDb(options.advisoryDb, { mustExist: true, readonly: true });
  try {
    return await withImageSource(options.location, options.session, async (source) => {
      const exam = await examineImage(source, {
        inventory: true,
        ...(options.onLayer ? { onLayer: options.onLayer } : {}),
        ...(options.platform ? { platform: options.platform } : {}),
      });
      const inventory = exam.inventory ?? { packages: [], issues: [] };
      const matched = matchVulnerabilities(inventory.packages, inventory.os, db);
      const status = db.status();
      return {
        image: {
          name: exam.description,
          digest: exam.digest,
          ...(exam.platform ? { platform: exam.platform } : {}),
        },
        scanner: { name: 'berth' as const, version: BERTH_VERSION },
        ...(inventory.os
          ? {
              os: {
                id: inventory.os.id,
                ...(inventory.os.versionId ? { versionId: inventory.os.versionId } : {}),
                ...(inventory.os.prettyName ? { prettyName: inventory.os.prettyName } : {}),
              },
            }
          : {}),
        packages: inventory.packages.length,
        findings: matched.findings,
        issues: [...exam.issues, ...matched.issues],
        database: {
          path: status.path,
          records: status.records,
          ...(status.newestModified ? { newestModified: status.newestModified } : {}),
        },
        incomplete: exam.incomplete,
      };
    });
  } finally {
    db.close();
  }
}

/** Which findings a scan reports (`--severity`, `--ignore-unfixed`) and where it fails (`--fail-on`). */
export interface FindingSelection {
  severities?: Severity[] | undefined;
  ignoreUnfixed?: boolean | undefined;
  failOn?: Severity | undefined;
}

/** The findings to report, and those of them at or above the failing level. */
export function selectFindings(
  result: ScanResult,
  selection: FindingSelection,
): { findings: Finding[]; failing: Finding[] } {
  const findings = filterFindings(result.findings, {
    ...(selection.severities ? { severities: selection.severities } : {}),
    ...(selection.ignoreUnfixed ? { ignoreUnfixed: true } : {}),
  });
  return { findings, failing: selection.failOn ? findingsAtOrAbove(findings, selection.failOn) : [] };
}
