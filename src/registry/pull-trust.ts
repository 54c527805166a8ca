/**
 * The trust policy at pull (issue 14): in a repository matching a project's trust rule, a manifest is served
 * only when it carries a valid cosign signature (the `sha256-<hex>.sig` tag) by the rule's key. Signatures,
 * SBOMs and attestations themselves are always served to whoever may pull. Verification results are cached
 * per image digest, signature manifest and key, so a new signature is seen at once and a pull of a verified
 * image costs one small query.
 */
import { projectOf } from '../access/principal.js';
import { globMatches } from '../access/repository-glob.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { TrustRuleRecord, TrustStore } from '../metadata/trust-store.js';
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { imageManifestSchema, parseManifest } from '../oci/manifest.js';
import type { RepoName } from '../oci/names.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { AdmissionAudit } from './push-admission.js';
import { admissionSubject } from './push-admission.js';

/** One layer of a signature manifest, checked against one key: trust/'s `checkSignatureLayer`, given by main/. */
export type SignatureLayerCheck = (input: {
  layer: {
    mediaType: string;
    digest: string;
    size: number;
    annotations?: Record<string, string> | undefined;
  };
  payload: Buffer;
  publicKeyPem: string;
  digest: Digest;
}) => boolean;

export interface ManifestPull {
  repo: RepoName;
  digest: Digest;
  tag?: string | undefined;
  actor?: string | undefined;
}

/** What `Registry.getManifest` asks before it serves a manifest: throws `DENIED` to refuse. */
export interface ManifestTrust {
  check(pull: ManifestPull): Promise<void>;
}

// The tags of cosign's signatures, attestations and SBOMs, and of the referrers tag schema: always pullable.
const ATTACHED_TAG = /^sha256-[0-9a-f]{64}(?:\.(?:sig|att|sbom))?$/;
// cosign's payloads are a few hundred bytes; trust/ refuses more than 64 KiB anyway.
const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_SIGNATURE_LAYERS = 256;
// Verification results kept; past this the cache starts over (each entry is a few hundred bytes).
const MAX_CACHED = 10_000;

function signatureTagOf(digest: Digest): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return `${algorithm}-${hex}.sig`;
}

export class PullTrust implements ManifestTrust {
  private readonly verified = new Map<string, boolean>();

  constructor(
    private readonly store: TrustStore,
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly checkLayer: SignatureLayerCheck,
    private readonly audit: AdmissionAudit,
  ) {}

  async check(pull: ManifestPull): Promise<void> {
    if (pull.tag !== undefined && ATTACHED_TAG.test(pull.tag)) return;
    const project = projectOf(pull.repo);
    const rules = (await this.store.listRules(project)).filter((rule) =>
      globMatches(rule.repositoryGlob, pull.repo),
    );
    if (rules.length === 0) return;
    const row = await this.meta.manifest(pull.repo, { digest: pull.digest });
    if (!row) return;
    // Signatures, SBOMs and attestations pulled by digest (the referrers API) are served like their tags.
    if (admissionSubject(parseManifest(row.content, row.mediaType)) === 'artifact') return;
    const signature = await this.meta.manifest(pull.repo, { tag: signatureTagOf(pull.digest) });
    const unmet: TrustRuleRecord[] = [];
    for (const rule of rules) {
      if (!(await this.signedBy(pull, signature, rule.publicKey))) unmet.push(rule);
    }
    if (unmet.length === 0) return;
    const policies = unmet.map(
      (rule) => `trust rule ${rule.id} of project ${project} (${rule.repositoryGlob})`,
    );
    await this.audit({
      actor: pull.actor ?? 'anonymous',
      actorKind: pull.actor === undefined ? 'anonymous' : pull.actor.startsWith('robot$') ? 'robot' : 'user',
      event: 'trust.refused',
      repository: pull.repo,
      detail: { project, digest: pull.digest, rules: unmet.map((rule) => rule.id) },
    });
    throw new RegistryError(
      'DENIED',
      { policy: policies.join('; '), digest: pull.digest },
      {},
      `refused by the ${policies.join('; ')}: no valid signature by its key`,
    );
  }

  private async signedBy(
    pull: ManifestPull,
    signature: { digest: Digest; content: Buffer } | undefined,
    publicKeyPem: string,
  ): Promise<boolean> {
    if (!signature) return false;
    const key = `${pull.repo} ${pull.digest} ${signature.digest} ${publicKeyPem}`;
    const cached = this.verified.get(key);
    if (cached !== undefined) return cached;
    let result = false;
    let json: unknown;
    try {
      json = JSON.parse(signature.content.toString('utf8'));
    } catch {
      json = undefined;
    }
    const parsed = imageManifestSchema.safeParse(json);
    if (parsed.success) {
      for (const layer of parsed.data.layers.slice(0, MAX_SIGNATURE_LAYERS)) {
        if (layer.size > MAX_PAYLOAD_BYTES) continue;
        const payload = await this.payloadOf(layer.digest);
        if (payload && this.checkLayer({ layer, payload, publicKeyPem, digest: pull.digest })) {
          result = true;
          break;
        }
      }
    }
    if (this.verified.size >= MAX_CACHED) this.verified.clear();
    this.verified.set(key, result);
    return result;
  }

  private async payloadOf(digest: Digest): Promise<Buffer | undefined> {
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of await this.blobs.read(digest)) {
        size += (chunk as Buffer).length;
        if (size > MAX_PAYLOAD_BYTES) return undefined;
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks);
    } catch {
      return undefined;
    }
  }
}
