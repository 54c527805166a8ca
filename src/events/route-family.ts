import { parseV2Path, type V2Route } from '../oci/v2-path.js';

/**
 * The route family a request counts under in the metrics: a bounded set of values, never a repository,
 * digest or tag, so that a label cannot grow with what is pushed.
 */
export type RouteFamily =
  | 'v2_base'
  | 'v2_catalog'
  | 'v2_tags'
  | 'v2_manifests'
  | 'v2_blobs'
  | 'v2_uploads'
  | 'v2_referrers'
  | 'v2_other'
  | 'token'
  | 'api'
  | 'health'
  | 'metrics'
  | 'other';

const V2_FAMILY: Record<V2Route['kind'], RouteFamily> = {
  base: 'v2_base',
  catalog: 'v2_catalog',
  tags: 'v2_tags',
  manifest: 'v2_manifests',
  blob: 'v2_blobs',
  'upload-start': 'v2_uploads',
  upload: 'v2_uploads',
  referrers: 'v2_referrers',
};

const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS']);

/** The path of a request URL, without its query. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

export function routeFamily(path: string, route = parseV2Path(path)): RouteFamily {
  if (route) return V2_FAMILY[route.kind];
  if (path.startsWith('/v2/')) return 'v2_other';
  if (path === '/token') return 'token';
  if (path === '/api/v1' || path.startsWith('/api/v1/')) return 'api';
  if (path === '/healthz' || path === '/readyz') return 'health';
  if (path === '/metrics') return 'metrics';
  return 'other';
}

/** Methods as a label: the known ones, everything else as `other` (a client may send any token). */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'other';
}
