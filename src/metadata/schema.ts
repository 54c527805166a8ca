import type { Generated } from 'kysely';

/** Table shapes, the same on SQLite and PostgreSQL. Times are milliseconds since the epoch. */
export interface Database {
  repositories: { id: Generated<number>; name: string; created_at: number };
  blobs: { digest: string; size: number; created_at: number };
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
}
