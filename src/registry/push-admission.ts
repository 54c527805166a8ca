/**
 * Admission at push (issue 14): a project's admission policy, in the `berth lint --policy` format, applied by
 * the server to every image manifest PUT into the project, so a client that never heard of Berth's gate
 * (plain skopeo) cannot get around it. The decision is `evaluateAdmission`; this file only gathers its input
 * from what the server holds (the manifest, its config blob) and turns a refusal into `DENIED`.
 */
import { projectOf } from '../access/principal.js';
import type { Clock } from '../clock/clock.js';
import type { AdmissionStore } from '../metadata/admission-store.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { ParsedManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import type { RepoName } from '../oci/names.js';
import {
  type AdmissionCheck,
  type AdmissionInput,
  type AdmissionReport,
  evaluateAdmission,
} from '../policy/admission-check.js';
import { type AdmissionPolicy, parseAdmissionPolicy } from '../policy/admission-policy.js';
import type { BlobStore } from '../storage/blob-store.js';

/** What `Registry.putManifest` asks before it stores anything: throws `DENIED` to refuse the push. */
export interface ManifestAdmission {
  check(push: ManifestPush): Promise<void>;
}

export interface ManifestPush {
  repo: RepoName;
  digest: Digest;
  parsed: ParsedManifest;
  tags: string[];
  actor?: string | undefined;
}

/** Where refusals are written (the audit log); never throws. */
export type AdmissionAudit = (event: {
  actor: string;
  actorKind: string;
  event: string;
  repository: string;
  detail: Record<string, unknown>;
}) => Promise<void>;

// An image config is small JSON; a bigger one is refused rather than read into memory.
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const IMAGE_CONFIGS = new Set<string>([MediaType.ociConfig, MediaType.dockerConfig]);
// Checks that only a client can make: the server is the host the push reached, and it has neither the
// files of the layers nor (yet) their vulnerability findings, so those rules say "skip" and are not kept.
const SERVER_SKIPPED_IDS = new Set(['naming:host']);
// The most findings a refusal carries in its error detail (the audit log gets the same list).
const MAX_FINDINGS = 50;

/**
 * What kind of manifest a push is, for admission: images are checked, indexes by name only, artifacts never.
 * Decided by content, not by `subject` or `artifactType`, which anyone can add to an image to slip past.
 */
export function admissionSubject(parsed: ParsedManifest): 'image' | 'index' | 'artifact' {
  if (parsed.children) return 'index';
  if (!parsed.config || !IMAGE_CONFIGS.has(parsed.config.mediaType)) return 'artifact';
  // Signatures (cosign's simple signing layers), SBOMs and attestations carry no filesystem layers.
  if ((parsed.layers ?? []).some((layer) => !/\.tar(?:$|[+.])/.test(layer.mediaType))) return 'artifact';
  return 'image';
}

/**
 * The server's part of a report: checks about a tag need a tag (a child pushed by digest is named by the
 * index that is tagged), an index is checked by its name only, and host rules are the client's.
 */
export function serverChecks(
  report: AdmissionReport,
  subject: 'image' | 'index',
  tagged: boolean,
): AdmissionCheck[] {
  return report.checks.filter(
    (check) =>
      !SERVER_SKIPPED_IDS.has(check.id) &&
      (subject === 'image' || check.rule === 'naming') &&
      (tagged || (check.id !== 'naming:tag' && check.id !== 'naming:forbidden-tag')),
  );
}

export class PushAdmission implements ManifestAdmission {
  private readonly parsedPolicies = new Map<string, { text: string; policy: AdmissionPolicy }>();

  constructor(
    private readonly store: AdmissionStore,
    private readonly meta: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly clock: Clock,
    private readonly audit: AdmissionAudit,
  ) {}

  async check(push: ManifestPush): Promise<void> {
    const subject = admissionSubject(push.parsed);
    if (subject === 'artifact') return;
    const project = projectOf(push.repo);
    const policy = await this.policyOf(project);
    if (!policy) return;
    const input: AdmissionInput = {
      destination: { host: 'registry', repository: push.repo, tag: push.tags[0], digest: push.digest },
      labels: {},
      annotations: push.parsed.annotations ?? {},
      imageSize: 0,
      layers: [],
    };
    if (subject === 'image') {
      const config = push.parsed.config;
      if (!config) return;
      const labels = await this.labelsOf(push.repo, config.digest);
      // The config is not in this repository: the push fails on its own with MANIFEST_BLOB_UNKNOWN.
      if (labels === undefined) return;
      input.labels = labels;
      const layers = push.parsed.layers ?? [];
      input.layers = layers.map((layer, index) => ({ index, digest: layer.digest, size: layer.size }));
      input.imageSize = config.size + layers.reduce((sum, layer) => sum + layer.size, 0);
    }
    // Each tag is a name of its own: a push with several tags passes only if every one does.
    const tags = push.tags.length > 0 ? push.tags : [undefined];
    const failed = new Map<string, AdmissionCheck>();
    let mode: AdmissionPolicy['mode'] = policy.mode;
    for (const tag of tags) {
      const destination = { ...input.destination, ...(tag !== undefined ? { tag } : {}) } as NonNullable<
        AdmissionInput['destination']
      >;
      if (tag === undefined) delete destination.tag;
      const report = evaluateAdmission(policy, { ...input, destination }, new Date(this.clock.now()));
      mode = report.mode;
      for (const check of serverChecks(report, subject, tag !== undefined)) {
        if (check.status === 'fail' && !failed.has(check.id)) failed.set(check.id, check);
      }
    }
    if (failed.size === 0) return;
    const findings = [...failed.values()].slice(0, MAX_FINDINGS).map((check) => ({
      id: check.id,
      message: check.message,
      ...(check.items ? { items: check.items.slice(0, MAX_FINDINGS) } : {}),
    }));
    const policyName = `admission policy of project ${project}`;
    await this.audit({
      actor: push.actor ?? 'anonymous',
      actorKind: push.actor === undefined ? 'anonymous' : push.actor.startsWith('robot$') ? 'robot' : 'user',
      event: mode === 'enforce' ? 'admission.refused' : 'admission.warned',
      repository: push.repo,
      detail: { project, digest: push.digest, tags: push.tags, findings: findings.map((f) => f.id) },
    });
    if (mode !== 'enforce') return;
    throw new RegistryError(
      'DENIED',
      { policy: policyName, findings },
      {},
      `refused by the ${policyName}: ${findings.map((f) => f.message).join('; ')}`,
    );
  }

  /** The project's compiled policy; parsed again only when its text changed. */
  private async policyOf(project: string): Promise<AdmissionPolicy | undefined> {
    const record = await this.store.getPolicy(project);
    if (!record) {
      this.parsedPolicies.delete(project);
      return undefined;
    }
    const cached = this.parsedPolicies.get(project);
    if (cached && cached.text === record.policy) return cached.policy;
    const policy = parseAdmissionPolicy(record.policy, `admission policy of project ${project}`);
    this.parsedPolicies.set(project, { text: record.policy, policy });
    return policy;
  }

  /** The config's labels, or undefined when the config blob is not linked to the repository. */
  private async labelsOf(repo: RepoName, digest: Digest): Promise<Record<string, string> | undefined> {
    const linked = await this.meta.tx(async (tx) => {
      const id = await tx.repositoryId(repo);
      return id !== undefined && (await tx.linkedBlobSizes(id, [digest])).has(digest);
    });
    if (!linked) return undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of await this.blobs.read(digest)) {
      size += (chunk as Buffer).length;
      if (size > MAX_CONFIG_BYTES) {
        throw new RegistryError('MANIFEST_INVALID', {
          reason: 'the image config is too large to check against the admission policy',
          limit: MAX_CONFIG_BYTES,
        });
      }
      chunks.push(chunk as Buffer);
    }
    let config: unknown;
    try {
      config = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new RegistryError('MANIFEST_INVALID', { reason: 'the image config is not JSON', digest });
    }
    const labels = (config as { config?: { Labels?: unknown } } | null)?.config?.Labels;
    const out: Record<string, string> = {};
    if (labels && typeof labels === 'object') {
      for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') out[key] = value;
    }
    return out;
  }
}
