import type { Digest } from '../../oci/digest.js';
import type { GrowingSpool } from '../growing-spool.js';
import type { PreparedBlob } from '../prepared-blob.js';
import type { ManifestBlob } from '../sources/image-source.js';

/** Where an image is written: a registry repository or an OCI layout. */
export interface ImageDestination {
  /** What to call it in messages: `docker://host/team/app:v1`, `oci:./layout:v1`. */
  readonly description: string;
  /** Whether the blob is already there (nothing to send). */
  hasBlob(digest: Digest, signal?: AbortSignal): Promise<boolean>;
  /** Repositories that may hold the blob and could lend it by a mount, best first (none: no mounts here). */
  mountSources(digest: Digest): string[];
  /** Links the blob from `from` without sending bytes; whether that worked. */
  mountBlob(digest: Digest, from: string, signal?: AbortSignal): Promise<boolean>;
  /** Sends the blob; resolves to the bytes sent now (less than its size when an earlier upload is resumed). */
  putBlob(blob: PreparedBlob, onBytes: (sent: number) => void, signal?: AbortSignal): Promise<number>;
  /**
   * Sends a blob while it is still being compressed into `spool` (absent: the destination cannot, and the
   * blob goes up with `putBlob` once complete); `key` names the layer and its compression for a resume.
   * Resolves to the bytes sent now.
   */
  putGrowingBlob?(
    spool: GrowingSpool,
    key: string,
    onBytes: (sent: number) => void,
    signal?: AbortSignal,
  ): Promise<number>;
  /** Stores a manifest under a tag, or under its digest when `reference` is the digest. */
  putManifest(reference: string, manifest: ManifestBlob, signal?: AbortSignal): Promise<void>;
  /** Notes that a blob is now at the destination (for later mounts). */
  recordBlob(digest: Digest): void;
  close(): Promise<void>;
}
