import type { ImageReference } from '../oci/reference.js';
import {
  type AdmissionReport,
  evaluateAdmission,
  policyNeedsFiles,
  policyNeedsVulnerabilities,
} from '../policy/admission-check.js';
import type { AdmissionPolicy } from '../policy/admission-policy.js';
import { openAdvisoryDb } from '../scan/osv/advisory-db.js';
import type { Finding, ScanIssue } from '../scan/types.js';
import { matchVulnerabilities } from '../scan/vulnerability-matcher.js';
import { examineImage, type ImageExamination } from './image-examination.js';
import type { ImageSource } from './sources/image-source.js';

export interface GateOptions {
  policy: AdmissionPolicy;
  /** Where the image is going (naming rules); undefined skips them. */
  destination?: ImageReference;
  platform?: string;
  /** The advisory database, needed when the policy has vulnerability rules. */
  advisoryDb?: string;
  /** Report failures without refusing (`--warn-only`). */
  warnOnly?: boolean;
  now?: Date;
  signal?: AbortSignal;
  onLayer?: (scan: { index: number; digest: string; uncompressedSize: number }) => void;
}

export interface GateResult {
  report: AdmissionReport;
  examination: ImageExamination;
  findings?: Finding[];
  issues: ScanIssue[];
}

/**
 * The quality gate for one image: reads what the policy's rules need (metadata always; the layers only for
 * size, file and vulnerability rules; the inventory and advisories only for vulnerability rules) and
 * evaluates the policy. A layer that cannot be read fails the gate: what it held was not checked.
 */
export async function runAdmissionGate(source: ImageSource, options: GateOptions): Promise<GateResult> {
  const needsVulnerabilities = policyNeedsVulnerabilities(options.policy);
  const needsFiles = policyNeedsFiles(options.policy);
  // Open the database first: a missing one should fail before minutes of layer reading.
  const db =
    needsVulnerabilities && options.advisoryDb
      ? openAdvisoryDb(options.advisoryDb, { mustExist: true, readonly: true })
      : undefined;
  try {
    const examination = await examineImage(source, {
      layers: needsFiles || needsVulnerabilities,
      inventory: needsVulnerabilities,
      ...(options.platform ? { platform: options.platform } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onLayer ? { onLayer: options.onLayer } : {}),
    });
    const issues = [...examination.issues];
    let findings: Finding[] | undefined;
    if (db && examination.inventory) {
      const matched = matchVulnerabilities(examination.inventory.packages, examination.inventory.os, db);
      findings = matched.findings;
      issues.push(...matched.issues);
    }
    const destination = options.destination
      ? {
          host: options.destination.host,
          repository: options.destination.repository,
          ...(options.destination.tag ? { tag: options.destination.tag } : {}),
          ...(options.destination.digest ? { digest: options.destination.digest } : {}),
        }
      : undefined;
    const policy = options.warnOnly ? { ...options.policy, mode: 'warn' as const } : options.policy;
    const report = evaluateAdmission(
      policy,
      {
        ...(destination ? { destination } : {}),
        labels: examination.config.config?.Labels ?? {},
        annotations: examination.annotations,
        imageSize: examination.layers.reduce((sum, l) => sum + l.size, 0) + examination.configDescriptor.size,
        layers: examination.layers.map((l, index) => {
          const scan = examination.pass?.scans[index];
          return {
            index,
            digest: l.digest,
            size: l.size,
            ...(scan ? { uncompressedSize: scan.uncompressedSize } : {}),
          };
        }),
        // Each layer entry's record already has the fields the file rules read.
        ...(examination.pass ? { files: examination.pass.fs.records } : {}),
        ...(findings ? { vulnerabilities: findings } : {}),
        ...(examination.incomplete
          ? {
              unreadableLayers: examination.issues
                .filter((i) => i.code === 'LAYER_CORRUPT' || i.code === 'LAYER_UNREADABLE')
                .map((i) => i.message),
            }
          : {}),
      },
      options.now ?? new Date(),
    );
    return { report, examination, ...(findings ? { findings } : {}), issues };
  } finally {
    db?.close();
  }
}
