import type { V2Route } from '../../oci/v2-path.js';
import { v2Url } from '../../oci/v2-path.js';
import { nextLink, parsePage } from '../wire.js';
import { type MethodTable, methodTable, pullAccess, type V2Context } from './resource.js';

type CatalogRoute = Extract<V2Route, { kind: 'catalog' }>;

const CATALOG_DEFAULT_PAGE = 1000;

/** `GET /v2/_catalog`: repository names a page at a time, only those the caller's account may pull. */
export function catalogMethods({ registry, gate, features }: V2Context): MethodTable<CatalogRoute> {
  return methodTable<CatalogRoute>(features, {
    GET: {
      kind: 'read',
      handle: async ({ request, reply, query }) => {
        const page = parsePage(query, CATALOG_DEFAULT_PAGE);
        const limit = page.limit ?? 0;
        // One more than asked, to know whether a Link to the next page is due.
        const repositories: string[] =
          limit === 0
            ? []
            : await registry.catalog(
                { after: page.after, limit: limit + 1 },
                pullAccess(gate, request, 'account'),
              );
        if (repositories.length > limit) {
          repositories.length = limit;
          reply.header('Link', nextLink(v2Url.catalog(), limit, repositories[limit - 1] as string));
        }
        return reply.send({ repositories });
      },
    },
  });
}
