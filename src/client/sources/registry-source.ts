import type { Readable } from 'node:stream';
import type { Digest } from '../../oci/digest.js';
import { BerthError } from '../../oci/errors.js';
import type { Descriptor } from '../../oci/manifest.js';
import type { RepositoryClient } from '../registry-client.js';
import type { ImageSource, ManifestBlob, OpenBlobOptions } from './image-source.js';
import { verifyBlobStream } from './verified-blob-stream.js';

/** An image in a registry as a source (`docker://HOST/REPO:TAG` or `@DIGEST`); every byte is verified. */
export function openRegistrySource(repo: RepositoryClient, reference: string): ImageSource {
  const description = `docker://${repo.where}${reference.includes(':') ? '@' : ':'}${reference}`;
  return {
    description,
    async topManifest(): Promise<ManifestBlob> {
      const manifest = await repo.getManifest(reference);
      if (!manifest) throw new BerthError('IMAGE_NOT_FOUND', `${description}: no such image`);
      return manifest;
    },
    async manifest(digest: Digest): Promise<ManifestBlob> {
      const manifest = await repo.getManifest(digest);
      if (!manifest)
        throw new BerthError('MANIFEST_NOT_FOUND', `${description}: manifest ${digest} is missing`);
      return manifest;
    },
    async openBlob(descriptor: Descriptor, options: OpenBlobOptions = {}): Promise<Readable> {
      // The whole blob is fetched even when resuming, so that the digest can still be checked.
      const body = await repo.getBlob(descriptor.digest, options.signal ? { signal: options.signal } : {});
      return verifyBlobStream(body, descriptor, {
        name: `${description}: blob ${descriptor.digest}`,
        ...(options.offset ? { offset: options.offset } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.verify === false ? { verify: false } : {}),
      });
    },
    async close(): Promise<void> {},
  };
}
