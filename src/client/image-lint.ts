import type { ImageReference } from '../oci/reference.js';
import type { AdmissionReport } from '../policy/admission-check.js';
import { loadAdmissionPolicy } from '../policy/admission-policy.js';
import { runAdmissionGate } from './admission-gate.js';
import type { ImageLocation } from './image-location.js';
import { withImageSource } from './image-source-scope.js';
import type { SessionSettings } from './session-settings.js';

export interface LintOptions {
  location: ImageLocation;
  session: SessionSettings;
  /** The policy file; a bad one is reported before the image is opened. */
  policyFile: string;
  /** Where the image would be pushed, for the naming rules. */
  destination?: ImageReference | undefined;
  platform?: string | undefined;
  /** The advisory database, for vulnerability rules. */
  advisoryDb: string;
  warnOnly: boolean;
  onLayer?: (scan: { index: number; uncompressedSize: number }) => void;
}

/** Checks an image against an admission policy without pushing it. */
export async function lintImage(options: LintOptions): Promise<{ image: string; report: AdmissionReport }> {
  const policy = await loadAdmissionPolicy(options.policyFile);
  return withImageSource(options.location, options.session, async (source) => {
    const { report } = await runAdmissionGate(source, {
      policy,
      ...(options.onLayer ? { onLayer: options.onLayer } : {}),
      ...(options.destination ? { destination: options.destination } : {}),
      ...(options.platform ? { platform: options.platform } : {}),
      advisoryDb: options.advisoryDb,
      ...(options.warnOnly ? { warnOnly: true } : {}),
    });
    return { image: source.description, report };
  });
}
