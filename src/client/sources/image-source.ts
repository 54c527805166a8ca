import type { Readable } from 'node:stream';
import type { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/manifest.js';

/** Manifest bytes as the source holds them, with their media type and digest. */
export interface ManifestBlob {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/**
 * Where an image is read from: an archive, a layout, a registry, an engine. A source hands out manifests
 * and blobs exactly as it holds them; it never recompresses or rewrites (the upload engine decides that).
 *
 * Sources that hold uncompressed layers (docker-archive, docker-daemon) describe them with the media type
 * `application/vnd.docker.image.rootfs.diff.tar` in a Docker schema 2 manifest they synthesize, with the
 * layer's diffID as its digest; the engine may compress them on the way. A layer such an archive already
 * holds gzip-compressed (the containerd image store exports them so) is described as
 * `application/vnd.docker.image.rootfs.diff.tar.gzip` with the digest of its compressed bytes.
 */
export interface ImageSource {
  /** What to call the image in messages, e.g. `docker-archive:app.tar:team/app:v1`. */
  readonly description: string;
  /** The top manifest: an image manifest, or an index when the source holds several platforms. */
  topManifest(): Promise<ManifestBlob>;
  /** A manifest by digest (an index's children). Throws `MANIFEST_NOT_FOUND` (BerthError) when absent. */
  manifest(digest: Digest): Promise<ManifestBlob>;
  /**
   * Opens a blob (config or layer). The stream yields exactly `descriptor.size` bytes whose digest is
   * `descriptor.digest`; when the source's bytes do not match, the stream fails with a BerthError
   * `BLOB_CORRUPT` naming the blob (the source checks as it reads). `offset` skips the first bytes (resume);
   * the skipped bytes are still read and hashed, so the check holds for a resumed read too. Throws
   * `BLOB_NOT_FOUND` when the source does not hold the blob, `BLOB_RANGE_INVALID` for an offset past its end.
   * `verify: false` skips the digest check (the size is still checked) for a consumer that checks it.
   */
  openBlob(descriptor: Descriptor, options?: OpenBlobOptions): Promise<Readable>;
  /** Releases files, sockets and temporary copies. */
  close(): Promise<void>;
}

export interface OpenBlobOptions {
  offset?: number;
  signal?: AbortSignal;
  /** Default true. */
  verify?: boolean;
}

/** Uncompressed layer media type used by sources that hold `docker save` layers. */
export const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';
