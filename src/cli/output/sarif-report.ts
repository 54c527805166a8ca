// SARIF 2.1.0, the report format of CI code-scanning pages: how `berth scan --format sarif` prints findings.
import type { ReportingDescriptor, Log as SarifLog } from 'sarif';
import type { ScanResult } from '../../scan/findings-report.js';
import type { Finding, Severity } from '../../scan/types.js';

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {
  CRITICAL: 'error',
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'note',
  UNKNOWN: 'note',
};

/** GitHub code scanning ranks security results by this property (a CVSS-like number as a string). */
const SECURITY_SEVERITY: Record<Severity, string> = {
  CRITICAL: '9.5',
  HIGH: '8.0',
  MEDIUM: '5.5',
  LOW: '2.0',
  UNKNOWN: '0.0',
};

/**
 * SARIF 2.1.0 for CI code-scanning pages: one rule per advisory, one result per affected package, located
 * at the package database inside the image (there is no source file to point at).
 */
export function toSarif(result: ScanResult, findings: Finding[]): SarifLog {
  const ruleIndex = new Map<string, number>();
  const rules: ReportingDescriptor[] = [];
  for (const f of findings) {
    if (ruleIndex.has(f.id)) continue;
    ruleIndex.set(f.id, rules.length);
    rules.push({
      id: f.id,
      name: f.id.replace(/[^A-Za-z0-9]/g, ''),
      shortDescription: { text: clip(f.summary || f.id, 200) },
      fullDescription: { text: f.summary || f.id },
      ...(f.url ? { helpUri: f.url } : {}),
      help: {
        text: `${f.id}${f.aliases.length > 0 ? ` (${f.aliases.join(', ')})` : ''}: ${f.summary}`,
        markdown: `**${f.id}**${f.aliases.length > 0 ? ` (${f.aliases.join(', ')})` : ''}\n\n${f.summary}${f.url ? `\n\n[Advisory](${f.url})` : ''}`,
      },
      defaultConfiguration: { level: SARIF_LEVEL[f.severity] },
      properties: {
        tags: ['vulnerability', 'security', f.severity],
        precision: 'very-high',
        'security-severity': f.score !== undefined ? f.score.toFixed(1) : SECURITY_SEVERITY[f.severity],
      },
    });
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: result.scanner.name === 'trivy' ? 'Trivy (through Berth)' : 'Berth',
            version: result.scanner.version,
            rules,
          },
        },
        results: findings.map((f) => ({
          ruleId: f.id,
          ruleIndex: ruleIndex.get(f.id),
          level: SARIF_LEVEL[f.severity],
          message: {
            text: `Package ${f.packageName} ${f.installedVersion} is affected by ${f.id} (${f.severity}).${f.fixedVersion ? ` Fixed in ${f.fixedVersion}.` : ' No fix yet.'} Image: ${result.image.name}`,
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: (f.location || result.image.name).replace(/^\/+/, '') },
                region: { startLine: 1 },
              },
              message: { text: `${result.image.name}: ${f.location}` },
            },
          ],
          partialFingerprints: { 'berth/v1': `${f.id}:${f.purl}` },
          properties: {
            purl: f.purl,
            installedVersion: f.installedVersion,
            fixedVersion: f.fixedVersion ?? null,
          },
        })),
        properties: { image: result.image },
      },
    ],
  };
}
