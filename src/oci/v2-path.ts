/**
 * The `/v2/` URL space, shared by the server (to route) and the client (to build URLs). Repository names
 * contain slashes and may even contain `manifests` or `blobs` as components, so a path is matched from its
 * end: the last `/manifests/`, `/blobs/`, `/tags/list` or `/referrers/` splits name from the rest.
 */
export type V2Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'upload-start'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'referrers'; name: string; digest: string };

const PATTERNS: [RegExp, (m: RegExpExecArray) => V2Route][] = [
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1] as string })],
  [
    /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    (m) => ({ kind: 'manifest', name: m[1] as string, reference: m[2] as string }),
  ],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'upload-start', name: m[1] as string })],
  [
    /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    (m) => ({ kind: 'upload', name: m[1] as string, id: m[2] as string }),
  ],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1] as string, digest: m[2] as string })],
  [
    /^\/v2\/(.+)\/referrers\/([^/]+)$/,
    (m) => ({ kind: 'referrers', name: m[1] as string, digest: m[2] as string }),
  ],
];

/** Parses the path part of a request URL (no query string). Returns undefined for paths outside the API. */
export function parseV2Path(path: string): V2Route | undefined {
  if (path === '/v2/' || path === '/v2') return { kind: 'base' };
  if (path === '/v2/_catalog') return { kind: 'catalog' };
  for (const [pattern, build] of PATTERNS) {
    const m = pattern.exec(path);
    if (m) return build(m);
  }
  return undefined;
}

export const v2Url = {
  base: (): string => '/v2/',
  catalog: (): string => '/v2/_catalog',
  tags: (name: string): string => `/v2/${name}/tags/list`,
  manifest: (name: string, reference: string): string => `/v2/${name}/manifests/${reference}`,
  blob: (name: string, digest: string): string => `/v2/${name}/blobs/${digest}`,
  uploads: (name: string): string => `/v2/${name}/blobs/uploads/`,
  upload: (name: string, id: string): string => `/v2/${name}/blobs/uploads/${id}`,
  referrers: (name: string, digest: string): string => `/v2/${name}/referrers/${digest}`,
};
