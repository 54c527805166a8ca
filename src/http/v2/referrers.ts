import { parseDigest } from '../../oci/digest.js';
import type { V2Route } from '../../oci/v2-path.js';
import { REFERRERS_MEDIA_TYPE } from '../../registry/registry.js';
import { type MethodTable, methodTable, type V2Context } from './resource.js';

type ReferrersRoute = Extract<V2Route, { kind: 'referrers' }>;

/** `GET /v2/<name>/referrers/<digest>`: the manifests whose subject is the digest, as an image index. */
export function referrersMethods({ registry, gate, features }: V2Context): MethodTable<ReferrersRoute> {
  return methodTable<ReferrersRoute>(features, {
    GET: {
      kind: 'read',
      handle: async ({ request, reply, route, name, query }) => {
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
      },
    },
  });
}
