/**
 * Whether a manifest of `mediaType` may be served to a client that sent these Accept values. No Accept
 * header, a wildcard, or a listing of the type itself means yes. A client that lists manifest types but not
 * this one gets a 404, as CNCF Distribution answers, rather than a format it said it cannot read.
 */
export function acceptsMediaType(accept: string[], mediaType: string): boolean {
  const types = accept
    .flatMap((value) => value.split(','))
    .map((entry) => {
      const [type, ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type: type ?? '', q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((entry) => entry.type !== '' && entry.q > 0);
  if (types.length === 0) return true;
  const wanted = mediaType.toLowerCase();
  const [major] = wanted.split('/');
  return types.some((entry) => entry.type === wanted || entry.type === '*/*' || entry.type === `${major}/*`);
}
