import type { Generated } from 'kysely';

/** Table shapes, the same on SQLite and PostgreSQL. Times are milliseconds since the epoch. */
export interface Database {
  repositories: { id: Generated<number>; name: string; created_at: number };
  blobs: {
    digest: string;
    size: number;
    created_at: number;
    /** Last upload commit, mount or manifest PUT naming it; ahead of now while an upload claims it. */
    referenced_at: Generated<number>;
    /** `deleting` once a collector marked it: nothing may revive it, readers see it as absent. */
    gc_state: Generated<string | null>;
  };
  repository_blobs: { repository_id: number; digest: string; created_at: number };
  manifests: {
    id: Generated<number>;
    repository_id: number;
    digest: string;
    media_type: string;
    /** The artifact type a referrers listing reports (the manifest's own, else its config media type). */
    artifact_type: string | null;
    subject_digest: string | null;
    /** JSON object of the manifest's annotations, or null. */
    annotations: string | null;
    size: number;
    content: Buffer;
    created_at: number;
  };
  manifest_references: { manifest_id: number; digest: string; kind: 'blob' | 'manifest' };
  tags: { repository_id: number; name: string; manifest_id: number; updated_at: number };
  uploads: { id: string; repository: string; created_at: number; updated_at: number; owner: string | null };
  users: {
    name: string;
    password_hash: string;
    admin: number;
    created_at: number;
    grants_version: Generated<number>;
  };
  robots: {
    name: string;
    secret_hash: string;
    /** JSON array of `{ repo, actions }`. */
    permissions: string;
    description: string;
    expires_at: number | null;
    created_by: string;
    created_at: number;
    grants_version: Generated<number>;
  };
  projects: { name: string; public: number; created_at: number };
  project_members: { project: string; subject_kind: string; subject: string; role: string };
  /** `policies` is a JSON array of `{ repo, actions }`. */
  policy_roles: { name: string; policies: string; created_at: number };
  role_bindings: { role: string; subject_kind: string; subject: string };
  audit_log: {
    id: Generated<number>;
    at: number;
    actor: string;
    actor_kind: string;
    event: string;
    repository: string | null;
    action: string | null;
    source: string | null;
    detail: string | null;
  };
  gc_runs: {
    id: Generated<number>;
    status: string;
    trigger: string;
    dry_run: number;
    untagged: number;
    grace_ms: number;
    cutoff: number;
    started_at: number;
    finished_at: number | null;
    checkpoint: string | null;
    blobs_examined: Generated<number>;
    bytes_examined: Generated<number>;
    blobs_freed: Generated<number>;
    bytes_freed: Generated<number>;
    manifests_freed: Generated<number>;
    uploads_purged: Generated<number>;
    error: string | null;
  };
  signing_keys: { kid: string; algorithm: string; private_jwk: string; created_at: number };
  /** `payload` is a JSON object or null. */
  events: {
    id: Generated<number>;
    type: string;
    at: number;
    repository: string | null;
    project: string | null;
    digest: string | null;
    tag: string | null;
    actor: string | null;
    payload: string | null;
  };
  // 0005_retention: a project's retention policy, every run's result, the last pull of each manifest.
  retention_policies: { project: string; policy: string; updated_at: number; updated_by: string };
  retention_runs: {
    id: Generated<number>;
    project: string;
    started_at: number;
    finished_at: number;
    trigger: string;
    actor: string;
    dry_run: number;
    forced: number;
    status: string;
    deleted_tags: number;
    deleted_manifests: number;
    bytes_freed: number;
    /** JSON: the plan's decisions and what was applied. */
    result: string;
  };
  manifest_pulls: { manifest_id: number; pulled_at: number };
  /** Tag immutability rules per project (migration 0004). `kind` is `include` or `exclude`. */
  immutability_rules: {
    id: Generated<number>;
    project: string;
    repository: string;
    tag: string;
    kind: string;
    created_at: number;
  };
  admission_policies: { project: string; policy: string; updated_at: number; updated_by: string };
  trust_policies: {
    id: Generated<number>;
    project: string;
    repository_glob: string;
    public_key: string;
    created_at: number;
  };
  /** `event_types` is a comma-separated list; `enabled` 1 or 0; `failures` the current run of failures. */
  webhooks: {
    id: Generated<number>;
    project: string;
    url: string;
    event_types: string;
    secret: string;
    format: string;
    enabled: number;
    failures: number;
    created_at: number;
  };
  /** `state`: pending (due at `next_at`), delivered, failed (gave up). */
  webhook_deliveries: {
    id: Generated<number>;
    webhook_id: number;
    event_id: number;
    state: string;
    attempt: number;
    next_at: number;
    response_status: number | null;
    response_ms: number | null;
    error: string | null;
    updated_at: number;
  };
  webhook_feed: { name: string; last_event_id: number };
  /** Background job leases (migration 0011): one row per job while a node holds or held it. */
  leases: { name: string; holder: string; expires_at: number };
}
