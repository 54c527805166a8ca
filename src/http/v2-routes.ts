import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Digest, parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseRepoName, parseTag, type RepoName, type Tag } from '../oci/names.js';
import { parseV2Path, v2Url } from '../oci/v2-path.js';
import {
  type BodyInput,
  type ManifestRef,
  REFERRERS_MEDIA_TYPE,
  type Registry,
} from '../registry/registry.js';
import { rangeHeader } from '../storage/blob-store.js';
import { isDirectBody } from '../storage/file-range-stream.js';
import { type AuthGate, OPEN_GATE } from './auth-gate.js';
import {
  contentLength,
  hasBody,
  nextLink,
  parseContentRange,
  parsePage,
  parseRange,
  readLimited,
} from './wire.js';

export interface V2Options {
  chunkMinLength: number;
}

const CATALOG_DEFAULT_PAGE = 1000;
const OCTET_STREAM = 'application/octet-stream';

function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  return q < 0
    ? { path: url, query: new URLSearchParams() }
    : { path: url.slice(0, q), query: new URLSearchParams(url.slice(q + 1)) };
}

function parseReference(raw: string): ManifestRef {
  return raw.includes(':') ? { digest: parseDigest(raw) } : { tag: parseTag(raw) };
}

function acceptValues(request: FastifyRequest): string[] {
  const accept = request.headers.accept;
  if (accept === undefined) return [];
  return Array.isArray(accept) ? accept : [accept];
}

function methodNotAllowed(request: FastifyRequest): never {
  throw new RegistryError('METHOD_UNKNOWN', { method: request.method, path: request.url });
}

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

/** An AbortSignal that fires when the client goes away mid-request. */
function clientGone(request: FastifyRequest): AbortSignal {
  const controller = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
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

/** Registers `/v2/*`: one route, dispatched by our own path parser since repository names hold slashes. */
export function registerV2Routes(
  app: FastifyInstance,
  registry: Registry,
  options: V2Options,
  gate: AuthGate = OPEN_GATE,
): void {
  /** A page of the catalog: only repositories the caller may pull from, when access is checked. */
  const catalogPage = async (
    request: FastifyRequest,
    after: string | undefined,
    limit: number,
  ): Promise<string[]> => {
    if (!gate.enabled) return registry.listRepositories({ after, limit });
    const visible: string[] = [];
    let cursor = after;
    while (visible.length < limit) {
      const batch = await registry.listRepositories({ after: cursor, limit: Math.max(limit * 2, 100) });
      for (const name of batch) {
        // A catalog token (`registry:catalog:*`) names no repository: what counts is what the account may pull.
        if (visible.length < limit && (await gate.accountMayPull(request, name))) visible.push(name);
      }
      if (batch.length === 0 || visible.length >= limit) break;
      cursor = batch[batch.length - 1];
    }
    return visible;
  };

  /**
   * `DELETE …/blobs/<digest>?force=true` and `DELETE …/manifests/<digest>?force=true` delete what a tag still
   * needs (which leaves that tag unpullable). Only a system administrator may: an admin user by Basic auth or
   * by a token with delete on the repository; with `auth: none`, whoever reaches the port is the operator.
   * Anyone else asking to force is refused with DENIED, so that a script never mistakes the parameter for
   * having worked.
   */
  const forcedDelete = async (request: FastifyRequest, query: URLSearchParams): Promise<boolean> => {
    if (query.get('force') !== 'true') return false;
    if (!gate.enabled) return true;
    const auth = await gate.authentication(request);
    if (auth?.principal.kind === 'user' && auth.principal.admin) return true;
    throw new RegistryError(
      'DENIED',
      { reason: 'only a system administrator may force a delete' },
      {},
      'only a system administrator may force a delete (force=true)',
    );
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { path, query } = splitUrl(request.url);
    const route = parseV2Path(path);
    if (!route) throw new RegistryError('NOT_FOUND', { path });
    const method = request.method;
    const read = method === 'GET' || method === 'HEAD';

    switch (route.kind) {
      case 'base':
        if (!read) methodNotAllowed(request);
        await gate.requireLogin(request);
        return reply.header('Content-Type', 'application/json').send('{}');

      case 'catalog': {
        if (method !== 'GET') methodNotAllowed(request);
        const page = parsePage(query, CATALOG_DEFAULT_PAGE);
        const repositories =
          page.limit === 0 ? [] : await catalogPage(request, page.after, (page.limit ?? 0) + 1);
        const limit = page.limit ?? 0;
        if (repositories.length > limit) {
          repositories.length = limit;
          reply.header('Link', nextLink(v2Url.catalog(), limit, repositories[limit - 1] as string));
        }
        return reply.send({ repositories });
      }

      case 'tags': {
        const name = parseRepoName(route.name);
        if (method !== 'GET') methodNotAllowed(request);
        await gate.require(request, name, 'pull');
        const page = parsePage(query);
        if (page.limit === 0) {
          await registry.listTags(name, { limit: 0 });
          return reply.send({ name, tags: [] });
        }
        const tags = await registry.listTags(
          name,
          page.limit === undefined ? page : { ...page, limit: page.limit + 1 },
        );
        if (page.limit !== undefined && tags.length > page.limit) {
          tags.length = page.limit;
          reply.header('Link', nextLink(v2Url.tags(name), page.limit, tags[page.limit - 1] as string));
        }
        return reply.send({ name, tags });
      }

      case 'manifest': {
        const name = parseRepoName(route.name);
        const ref = parseReference(route.reference);
        if (!read && method !== 'PUT' && method !== 'DELETE') methodNotAllowed(request);
        await gate.require(request, name, read ? 'pull' : method === 'PUT' ? 'push' : 'delete');
        if (read) {
          const result = await registry.getManifest(name, ref, acceptValues(request), method === 'GET');
          reply
            .header('Content-Type', result.mediaType)
            .header('Docker-Content-Digest', result.digest)
            .header('ETag', `"${result.digest}"`)
            .header('Content-Length', String(result.size));
          return reply.send(method === 'GET' ? result.content : undefined);
        }
        if (method === 'PUT') {
          const extraTags: Tag[] = 'digest' in ref ? query.getAll('tag').map(parseTag) : [];
          const content = await readLimited(
            request.raw,
            registry.maxManifestSize,
            () => new RegistryError('MANIFEST_TOO_LARGE', { limit: registry.maxManifestSize }),
          );
          const result = await registry.putManifest(
            name,
            ref,
            content,
            request.headers['content-type'],
            extraTags,
          );
          reply
            .code(201)
            .header('Location', v2Url.manifest(name, result.digest))
            .header('Docker-Content-Digest', result.digest)
            .header('Content-Length', '0');
          if (result.subject) reply.header('OCI-Subject', result.subject);
          if (extraTags.length > 0) reply.header('OCI-Tag', extraTags.join(', '));
          return reply.send();
        }
        if (method === 'DELETE') {
          await registry.deleteManifest(name, ref, { force: await forcedDelete(request, query) });
          return reply.code(202).header('Content-Length', '0').send();
        }
        return methodNotAllowed(request);
      }

      case 'blob': {
        const name = parseRepoName(route.name);
        const digest = parseDigest(route.digest);
        if (!read && method !== 'DELETE') methodNotAllowed(request);
        await gate.require(request, name, read ? 'pull' : 'delete');
        if (read) {
          const range = parseRange(request.headers.range);
          const blob = await registry.readBlob(name, digest, range, method === 'GET', clientGone(request));
          reply
            .header('Content-Type', OCTET_STREAM)
            .header('Docker-Content-Digest', digest)
            .header('ETag', `"${digest}"`)
            .header('Accept-Ranges', 'bytes')
            .header('Cache-Control', 'max-age=31536000');
          if (blob.range) {
            reply
              .code(206)
              .header('Content-Range', `bytes ${blob.range.start}-${blob.range.end}/${blob.size}`)
              .header('Content-Length', String(blob.range.end - blob.range.start + 1));
          } else reply.header('Content-Length', String(blob.size));
          if (isDirectBody(blob.stream)) {
            // Written straight to the socket with reused buffers (see FileRangeStream); Fastify steps aside.
            reply.hijack();
            reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
            await blob.stream.writeTo(reply.raw).catch(() => reply.raw.destroy());
            return reply;
          }
          return reply.send(blob.stream);
        }
        if (method === 'DELETE') {
          await registry.deleteBlob(name, digest, { force: await forcedDelete(request, query) });
          return reply.code(202).header('Content-Length', '0').send();
        }
        return methodNotAllowed(request);
      }

      case 'upload-start': {
        const name = parseRepoName(route.name);
        if (method !== 'POST') methodNotAllowed(request);
        await gate.require(request, name, 'push');
        const algorithm = query.get('digest-algorithm');
        if (algorithm !== null && algorithm !== 'sha256' && algorithm !== 'sha512') {
          throw new RegistryError('DIGEST_INVALID', { reason: 'unsupported digest algorithm', algorithm });
        }
        const mount = query.get('mount');
        const from = query.get('from');
        if (mount !== null) {
          const digest = parseDigest(mount);
          const source = from !== null && /^[a-z0-9]/.test(from) ? tryRepoName(from) : undefined;
          // Without pull on the source there is no mount, and no hint whether the blob is there: a session instead.
          const readable = source !== undefined && (await gate.may(request, source, 'pull'));
          const mounted = source && readable ? await registry.mount(name, digest, source) : undefined;
          if (mounted) return blobCreated(reply, name, mounted.digest);
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
        if (options.chunkMinLength > 0) reply.header('OCI-Chunk-Min-Length', String(options.chunkMinLength));
        return uploadHeaders(reply, name, upload.id, upload.size)
          .code(202)
          .header('Content-Length', '0')
          .send();
      }

      case 'upload': {
        const name = parseRepoName(route.name);
        const id = route.id;
        if (!['GET', 'PATCH', 'PUT', 'DELETE'].includes(method)) methodNotAllowed(request);
        await gate.require(request, name, 'push');
        const owner = await gate.owner(request);
        switch (method) {
          case 'GET': {
            const state = await registry.uploadStatus(name, id, owner);
            return uploadHeaders(reply, name, id, state.size).code(204).send();
          }
          case 'PATCH': {
            const state = await registry.appendUpload(
              name,
              id,
              uploadBody(request, clientGone(request)),
              owner,
            );
            return uploadHeaders(reply, name, id, state.size).code(202).header('Content-Length', '0').send();
          }
          case 'PUT': {
            const digestParam = query.get('digest');
            if (digestParam === null) {
              throw new RegistryError('DIGEST_INVALID', { reason: 'the closing PUT needs ?digest=' });
            }
            const digest = parseDigest(digestParam);
            const input = hasBody(request.raw) ? uploadBody(request, clientGone(request)) : undefined;
            const blob = await registry.finishUpload(name, id, digest, input, owner);
            return blobCreated(reply, name, blob.digest);
          }
          case 'DELETE':
            await registry.cancelUpload(name, id, owner);
            return reply.code(204).send();
          default:
            return methodNotAllowed(request);
        }
      }

      case 'referrers': {
        const name = parseRepoName(route.name);
        if (method !== 'GET') methodNotAllowed(request);
        await gate.require(request, name, 'pull');
        const digest = parseDigest(route.digest);
        const artifactType = query.get('artifactType') ?? undefined;
        const result = await registry.referrers(name, digest, artifactType);
        if (result.filtered) reply.header('OCI-Filters-Applied', 'artifactType');
        return reply.header('Content-Type', REFERRERS_MEDIA_TYPE).send(
          // A Buffer, so that Fastify adds no charset parameter to the index media type.
          Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: REFERRERS_MEDIA_TYPE,
              manifests: result.manifests,
            }),
          ),
        );
      }
    }
  };

  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
  app.route({ method: [...methods], url: '/v2', exposeHeadRoute: false, handler });
  app.route({ method: [...methods], url: '/v2/*', exposeHeadRoute: false, handler });
}

function tryRepoName(raw: string): RepoName | undefined {
  try {
    return parseRepoName(raw);
  } catch {
    return undefined;
  }
}
