import type { FastifyRequest } from 'fastify';
import { isDigest, parseDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { isTag, parseTag, type Tag } from '../../oci/names.js';
import type { V2Route } from '../../oci/v2-path.js';
import { v2Url } from '../../oci/v2-path.js';
import type { ManifestRef } from '../../registry/registry.js';
import { readLimited } from '../wire.js';
import { deleteOptions, type MethodTable, methodTable, type V2Context, type V2Handler } from './resource.js';

type ManifestRoute = Extract<V2Route, { kind: 'manifest' }>;

/** A reference to write or delete: a tag, or a digest when it holds a colon; anything else is refused (400). */
function parseReference(raw: string): ManifestRef {
  return raw.includes(':') ? { digest: parseDigest(raw) } : { tag: parseTag(raw) };
}

/**
 * A reference to read. One that is neither a tag nor a digest names no manifest: 404 MANIFEST_UNKNOWN, as
 * Distribution answers and the OCI conformance suite expects (it sends `.INVALID_MANIFEST_NAME`).
 */
function readReference(raw: string): ManifestRef {
  if (isDigest(raw)) return { digest: parseDigest(raw) };
  if (isTag(raw)) return { tag: raw };
  throw new RegistryError('MANIFEST_UNKNOWN', { reference: raw });
}

function acceptValues(request: FastifyRequest): string[] {
  const accept = request.headers.accept;
  if (accept === undefined) return [];
  return Array.isArray(accept) ? accept : [accept];
}

/** `/v2/<name>/manifests/<reference>`: read by tag or digest, push, delete. */
export function manifestMethods({ registry, gate, features }: V2Context): MethodTable<ManifestRoute> {
  const read: V2Handler<ManifestRoute> = async ({ request, reply, route, name }) => {
    // Checked before access, as every syntax error is: the answer is the same for every repository.
    const ref = readReference(route.reference);
    await gate.require(request, name, 'pull');
    const withContent = request.method === 'GET';
    const result = await registry.getManifest(
      name,
      ref,
      acceptValues(request),
      withContent,
      await gate.owner(request),
    );
    reply
      .header('Content-Type', result.mediaType)
      .header('Docker-Content-Digest', result.digest)
      .header('ETag', `"${result.digest}"`)
      .header('Content-Length', String(result.size));
    return reply.send(withContent ? result.content : undefined);
  };

  const put: V2Handler<ManifestRoute> = async ({ request, reply, route, name, query }) => {
    const ref = parseReference(route.reference);
    await gate.require(request, name, 'push');
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
      await gate.owner(request),
    );
    reply
      .code(201)
      .header('Location', v2Url.manifest(name, result.digest))
      .header('Docker-Content-Digest', result.digest)
      .header('Content-Length', '0');
    if (result.subject) reply.header('OCI-Subject', result.subject);
    if (extraTags.length > 0) reply.header('OCI-Tag', extraTags.join(', '));
    return reply.send();
  };

  const remove: V2Handler<ManifestRoute> = async (call) => {
    const { request, reply, route, name } = call;
    const ref = parseReference(route.reference);
    await gate.require(request, name, 'delete');
    await registry.deleteManifest(name, ref, await deleteOptions(gate, call));
    return reply.code(202).header('Content-Length', '0').send();
  };

  return methodTable<ManifestRoute>(features, {
    GET: { kind: 'read', handle: read },
    HEAD: { kind: 'read', handle: read },
    PUT: { kind: 'write', handle: put },
    DELETE: { kind: 'delete', handle: remove },
  });
}
