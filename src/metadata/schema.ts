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
  uploads: { id: string; repository: string; created_at: number; updated_at: number };
}
