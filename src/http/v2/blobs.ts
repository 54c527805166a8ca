import type { OutgoingHttpHeaders } from 'node:http';
import { parseDigest } from '../../oci/digest.js';
import type { V2Route } from '../../oci/v2-path.js';
import { isDirectBody } from '../direct-body.js';
import { parseRange } from '../wire.js';
import {
  clientGone,
  deleteOptions,
  type MethodTable,
  methodTable,
  type V2Context,
  type V2Handler,
} from './resource.js';

type BlobRoute = Extract<V2Route, { kind: 'blob' }>;

const OCTET_STREAM = 'application/octet-stream';

/** `/v2/<name>/blobs/<digest>`: read (whole or a range) and unlink. */
export function blobMethods({ registry, gate, features }: V2Context): MethodTable<BlobRoute> {
  const read: V2Handler<BlobRoute> = async ({ request, reply, route, name }) => {
    const digest = parseDigest(route.digest);
    await gate.require(request, name, 'pull');
    const range = parseRange(request.headers.range);
    const withContent = request.method === 'GET';
    const blob = await registry.readBlob(name, digest, range, withContent, clientGone(request));
    if (blob.redirect) {
      // The object store serves the bytes (storage.s3.redirect): the URL is presigned and expires.
      return reply
        .code(307)
        .header('Location', blob.redirect)
        .header('Docker-Content-Digest', digest)
        .header('Content-Length', '0')
        .send();
    }
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
      // Written straight to the socket with reused buffers (see DirectBody); Fastify steps aside.
      reply.hijack();
      reply.raw.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
      await blob.stream.writeTo(reply.raw).catch(() => reply.raw.destroy());
      return reply;
    }
    return reply.send(blob.stream);
  };

  const remove: V2Handler<BlobRoute> = async (call) => {
    const { request, reply, route, name } = call;
    const digest = parseDigest(route.digest);
    await gate.require(request, name, 'delete');
    await registry.deleteBlob(name, digest, await deleteOptions(gate, call));
    return reply.code(202).header('Content-Length', '0').send();
  };

  return methodTable<BlobRoute>(features, {
    GET: { kind: 'read', handle: read },
    HEAD: { kind: 'read', handle: read },
    DELETE: { kind: 'delete', handle: remove },
  });
}
