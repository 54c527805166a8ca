import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError } from '../../oci/errors.js';
import { parseRepoName } from '../../oci/names.js';
import { parseV2Path, type V2Route } from '../../oci/v2-path.js';
import type { Registry } from '../../registry/registry.js';
import { type AuthGate, OPEN_GATE } from '../auth-gate.js';
import { baseMethods } from './base.js';
import { blobMethods } from './blobs.js';
import { catalogMethods } from './catalog.js';
import { manifestMethods } from './manifests.js';
import { referrersMethods } from './referrers.js';
import type { MethodTable, V2Call, V2Context, V2Features, V2Method } from './resource.js';
import { methodRefusal, V2_METHODS } from './resource.js';
import { tagsMethods } from './tags.js';
import { uploadMethods, uploadStartMethods } from './uploads.js';

export interface V2Options {
  chunkMinLength: number;
  /** Pulls only: no method that writes is registered. */
  readOnly?: boolean | undefined;
}

/** Every route kind's method table, built once at start for this server's features. */
type RouteTables = { [K in V2Route['kind']]: MethodTable<Extract<V2Route, { kind: K }>> };

function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  return q < 0
    ? { path: url, query: new URLSearchParams() }
    : { path: url.slice(0, q), query: new URLSearchParams(url.slice(q + 1)) };
}

/**
 * Registers `/v2/*`: one Fastify route, dispatched by our own path parser since repository names hold
 * slashes, to the method table of the resource the path names. A method a resource lacks, or that this
 * server switched off (deletes, writes in read-only mode), is answered 405 without reaching any handler.
 */
export function registerV2Routes(
  app: FastifyInstance,
  registry: Registry,
  options: V2Options,
  gate: AuthGate = OPEN_GATE,
): void {
  const features: V2Features = {
    deletes: registry.deletes,
    readOnly: options.readOnly ?? false,
    chunkMinLength: options.chunkMinLength,
  };
  const context: V2Context = { registry, gate, features };
  const tables: RouteTables = {
    base: baseMethods(context),
    catalog: catalogMethods(context),
    tags: tagsMethods(context),
    manifest: manifestMethods(context),
    blob: blobMethods(context),
    'upload-start': uploadStartMethods(context),
    upload: uploadMethods(context),
    referrers: referrersMethods(context),
  };

  const dispatch = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { path, query } = splitUrl(request.url);
    const route = parseV2Path(path);
    if (!route) throw new RegistryError('NOT_FOUND', { path });
    // The name is checked before the method, as clients have always been answered.
    const name = 'name' in route ? parseRepoName(route.name) : undefined;
    const table = tables[route.kind] as MethodTable<V2Route>;
    const handler = table.handlers[request.method as V2Method];
    if (!handler) throw methodRefusal(table, request.method, path);
    return handler({ request, reply, route, name, query } as V2Call);
  };

  app.route({ method: [...V2_METHODS], url: '/v2', exposeHeadRoute: false, handler: dispatch });
  app.route({ method: [...V2_METHODS], url: '/v2/*', exposeHeadRoute: false, handler: dispatch });
}
