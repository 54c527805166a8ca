import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Digest, parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { parseRepoName, type RepoName } from '../../oci/names.js';
import { rangeHeader } from '../../oci/upload-range.js';
import type { V2Route } from '../../oci/v2-path.js';
import { v2Url } from '../../oci/v2-path.js';
import type { BodyInput } from '../../registry/registry.js';
import { contentLength, hasBody, parseContentRange } from '../wire.js';
import {
  clientGone,
  type MethodTable,
  methodTable,
  pullAccess,
  type V2Context,
  type V2Handler,
} from './resource.js';

type UploadStartRoute = Extract<V2Route, { kind: 'upload-start' }>;
type UploadRoute = Extract<V2Route, { kind: 'upload' }>;

/** The body of an upload request, with the bounds its Content-Range and Content-Length announce. */
function uploadBody(request: FastifyRequest, signal: AbortSignal): BodyInput {
  const range = parseContentRange(request.headers['content-range']);
  const length = contentLength(request.raw);
  if (range && length !== undefined && length !== range.end - range.start + 1) {
    throw new RegistryError('RANGE_INVALID', {
      reason: 'Content-Range and Content-Length disagree',
      contentRange: request.headers['content-range'],
      contentLength: length,
    });
  }
  return {
    body: request.raw,
    offset: range?.start,
    length: range ? range.end - range.start + 1 : length,
    signal,
  };
}

function uploadHeaders(reply: FastifyReply, name: RepoName, id: string, size: number): FastifyReply {
  return reply
    .header('Location', v2Url.upload(name, id))
    .header('Range', rangeHeader(size))
    .header('Docker-Upload-UUID', id);
}

function blobCreated(reply: FastifyReply, name: RepoName, digest: Digest): FastifyReply {
  return reply
    .code(201)
    .header('Location', v2Url.blob(name, digest))
    .header('Docker-Content-Digest', digest)
    .header('Content-Length', '0')
    .send();
}

/** A mount's `from`: a repository name, or nothing to mount from when it is not one. */
function mountSource(from: string): RepoName | undefined {
  try {
    return parseRepoName(from);
  } catch {
    return undefined;
  }
}

/**
 * `POST /v2/<name>/blobs/uploads/`: a mount (`?mount=`, with or without `from`), a whole blob in one request
 * (`?digest=`), or a new upload session.
 */
export function uploadStartMethods({ registry, gate, features }: V2Context): MethodTable<UploadStartRoute> {
  const start: V2Handler<UploadStartRoute> = async ({ request, reply, name, query }) => {
    await gate.require(request, name, 'push');
    const algorithm = query.get('digest-algorithm');
    if (algorithm !== null && algorithm !== 'sha256' && algorithm !== 'sha512') {
      throw new RegistryError('DIGEST_INVALID', { reason: 'unsupported digest algorithm', algorithm });
    }
    const mount = query.get('mount');
    if (mount !== null) {
      const digest = parseDigest(mount);
      const from = query.get('from');
      // A `from` that is no repository name mounts nothing (a session instead); no `from` at all lets the
      // registry look for the blob in what the caller may pull. Either way a refusal looks like a miss.
      const source = from === null ? undefined : mountSource(from);
      if (from === null || source !== undefined) {
        const mounted = await registry.mount(
          name,
          digest,
          source,
          pullAccess(gate, request, 'token'),
          await gate.owner(request),
        );
        if (mounted) return blobCreated(reply, name, mounted.digest);
      }
    } else {
      const digestParam = query.get('digest');
      if (digestParam !== null) {
        const digest = parseDigest(digestParam);
        const blob = await registry.uploadMonolithic(name, digest, {
          body: request.raw,
          length: contentLength(request.raw),
          signal: clientGone(request),
        });
        return blobCreated(reply, name, blob.digest);
      }
    }
    const upload = await registry.startUpload(name, await gate.owner(request));
    if (features.chunkMinLength > 0) reply.header('OCI-Chunk-Min-Length', String(features.chunkMinLength));
    return uploadHeaders(reply, name, upload.id, upload.size).code(202).header('Content-Length', '0').send();
  };
  return methodTable<UploadStartRoute>(features, { POST: { kind: 'write', handle: start } });
}

/** `/v2/<name>/blobs/uploads/<id>`: an upload session's status, its chunks, its close and its cancel. */
export function uploadMethods({ registry, gate, features }: V2Context): MethodTable<UploadRoute> {
  /** Every session request needs push, and names who asks: a session is its owner's alone. */
  const owner = async (request: FastifyRequest, name: RepoName): Promise<string | undefined> => {
    await gate.require(request, name, 'push');
    return gate.owner(request);
  };

  const status: V2Handler<UploadRoute> = async ({ request, reply, route, name }) => {
    const state = await registry.uploadStatus(name, route.id, await owner(request, name));
    return uploadHeaders(reply, name, route.id, state.size).code(204).send();
  };

  const append: V2Handler<UploadRoute> = async ({ request, reply, route, name }) => {
    const who = await owner(request, name);
    const state = await registry.appendUpload(name, route.id, uploadBody(request, clientGone(request)), who);
    return uploadHeaders(reply, name, route.id, state.size).code(202).header('Content-Length', '0').send();
  };

  const close: V2Handler<UploadRoute> = async ({ request, reply, route, name, query }) => {
    const who = await owner(request, name);
    const digestParam = query.get('digest');
    if (digestParam === null) {
      throw new RegistryError('DIGEST_INVALID', { reason: 'the closing PUT needs ?digest=' });
    }
    const digest = parseDigest(digestParam);
    const input = hasBody(request.raw) ? uploadBody(request, clientGone(request)) : undefined;
    const blob = await registry.finishUpload(name, route.id, digest, input, who);
    return blobCreated(reply, name, blob.digest);
  };

  const cancel: V2Handler<UploadRoute> = async ({ request, reply, route, name }) => {
    await registry.cancelUpload(name, route.id, await owner(request, name));
    return reply.code(204).send();
  };

  // All four are part of a push: read-only mode has none of them; `deletes: false` keeps the cancel.
  return methodTable<UploadRoute>(features, {
    GET: { kind: 'write', handle: status },
    PATCH: { kind: 'write', handle: append },
    PUT: { kind: 'write', handle: close },
    DELETE: { kind: 'write', handle: cancel },
  });
}
