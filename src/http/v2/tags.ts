import type { V2Route } from '../../oci/v2-path.js';
import { v2Url } from '../../oci/v2-path.js';
import { nextLink, parsePage } from '../wire.js';
import { type MethodTable, methodTable, type V2Context } from './resource.js';

type TagsRoute = Extract<V2Route, { kind: 'tags' }>;

/** `GET /v2/<name>/tags/list`: a repository's tags, paged with `n` and `last`. */
export function tagsMethods({ registry, gate, features }: V2Context): MethodTable<TagsRoute> {
  return methodTable<TagsRoute>(features, {
    GET: {
      kind: 'read',
      handle: async ({ request, reply, name, query }) => {
        await gate.require(request, name, 'pull');
        const page = parsePage(query);
        if (page.limit === 0) {
          // Still answers NAME_UNKNOWN for a repository that is not there.
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
      },
    },
  });
}
