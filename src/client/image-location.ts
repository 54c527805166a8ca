import { BerthError } from '../oci/errors.js';
import { type ImageReference, parseImageReference } from '../oci/reference.js';

/** Where an image is, in the transport syntax skopeo users know. */
export type ImageLocation =
  | { transport: 'docker'; ref: ImageReference }
  /** `docker-archive:PATH[:REF]`: REF names one image of the archive by tag (`team/app:v1`) or index (`@1`). */
  | { transport: 'docker-archive'; path: string; image?: { tag: string } | { index: number } }
  | { transport: 'oci'; path: string; tag?: string }
  | { transport: 'oci-archive'; path: string; tag?: string }
  /** `docker-daemon:NAME:TAG` or `docker-daemon:NAME@DIGEST`: an image of a local engine. */
  | { transport: 'docker-daemon'; name: string };

const TRANSPORTS = ['docker', 'docker-archive', 'oci', 'oci-archive', 'docker-daemon'] as const;

function invalid(raw: string, why: string): BerthError {
  return new BerthError('LOCATION_INVALID', `invalid image location "${raw}": ${why}`);
}

/** Splits `PATH[:SUFFIX]` where PATH may itself hold colons only if SUFFIX is given (as skopeo does). */
function splitPath(rest: string): [string, string | undefined] {
  const colon = rest.indexOf(':');
  return colon < 0 ? [rest, undefined] : [rest.slice(0, colon), rest.slice(colon + 1)];
}

export function parseImageLocation(raw: string): ImageLocation {
  const colon = raw.indexOf(':');
  const prefix = colon > 0 ? raw.slice(0, colon) : '';
  if (prefix === 'docker') {
    if (!raw.startsWith('docker://')) throw invalid(raw, 'expected docker://HOST/REPOSITORY[:TAG]');
    return { transport: 'docker', ref: parseImageReference(raw.slice('docker://'.length)) };
  }
  if (prefix === 'docker-archive') {
    const [path, image] = splitPath(raw.slice(colon + 1));
    if (!path) throw invalid(raw, 'missing archive path');
    if (image === undefined || image === '') return { transport: 'docker-archive', path };
    if (image.startsWith('@')) {
      const index = Number(image.slice(1));
      if (!Number.isInteger(index) || index < 0) throw invalid(raw, `bad image index "${image}"`);
      return { transport: 'docker-archive', path, image: { index } };
    }
    return { transport: 'docker-archive', path, image: { tag: image } };
  }
  if (prefix === 'oci' || prefix === 'oci-archive') {
    const [path, tag] = splitPath(raw.slice(colon + 1));
    if (!path) throw invalid(raw, 'missing path');
    return tag ? { transport: prefix, path, tag } : { transport: prefix, path };
  }
  if (prefix === 'docker-daemon') {
    const name = raw.slice(colon + 1);
    if (!/^[^:@]+(?::[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/.test(name)) {
      throw invalid(raw, 'expected docker-daemon:NAME:TAG or docker-daemon:NAME@DIGEST');
    }
    return { transport: 'docker-daemon', name };
  }
  // `host:5000/repo` and `registry.example.com/repo:tag` are references; `foo:bar` names a transport.
  const hostPort = /^\d+(\/|$)/.test(raw.slice(colon + 1)) || prefix.includes('.') || prefix === 'localhost';
  if (prefix && !prefix.includes('/') && !hostPort) {
    throw invalid(raw, `unknown transport "${prefix}" (known: ${TRANSPORTS.join(', ')})`);
  }
  // A bare HOST/REPOSITORY means docker://.
  return { transport: 'docker', ref: parseImageReference(raw) };
}

export function describeLocation(location: ImageLocation): string {
  switch (location.transport) {
    case 'docker':
      return `docker://${location.ref.host}/${location.ref.repository}${location.ref.tag ? `:${location.ref.tag}` : ''}${location.ref.digest ? `@${location.ref.digest}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${location.path}${location.image ? `:${'tag' in location.image ? location.image.tag : `@${location.image.index}`}` : ''}`;
    case 'oci':
    case 'oci-archive':
      return `${location.transport}:${location.path}${location.tag ? `:${location.tag}` : ''}`;
    case 'docker-daemon':
      return `docker-daemon:${location.name}`;
  }
}
