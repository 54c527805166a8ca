import { isIP } from 'node:net';
import { type Digest, isDigest, parseDigest } from './digest.js';
import { BerthError } from './errors.js';
import { isRepoName, isTag, type RepoName, type Tag } from './names.js';

/** An image in a registry: `host[:port]/repository[:tag][@digest]`. */
export interface ImageReference {
  /** Registry host as the user wrote it, with the port: `registry.example.com:5000`, `[::1]:5000`. */
  host: string;
  repository: RepoName;
  tag?: Tag;
  digest?: Digest;
}

export const DEFAULT_REGISTRY = 'docker.io';

/**
 * Parses `HOST/REPO[:TAG][@DIGEST]`. Unlike Docker, a host is required (Berth never guesses Docker Hub):
 * the first component must contain a `.` or `:` or be `localhost`. Errors are `REFERENCE_INVALID`.
 */
export function parseImageReference(raw: string): ImageReference {
  const fail = (why: string): never => {
    throw new BerthError('REFERENCE_INVALID', `invalid image reference "${raw}": ${why}`);
  };
  let rest = raw;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) fail(`bad digest "${d}"`);
    digest = parseDigest(d);
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf('/');
  if (slash < 0) fail('expected HOST/REPOSITORY[:TAG]');
  const host = rest.slice(0, slash);
  if (!(host.includes('.') || host.includes(':') || host === 'localhost')) {
    fail(`"${host}" is not a registry host (it needs a "." or a port, or is "localhost")`);
  }
  let path = rest.slice(slash + 1);
  let tag: Tag | undefined;
  const colon = path.lastIndexOf(':');
  if (colon >= 0) {
    const t = path.slice(colon + 1);
    if (!isTag(t)) fail(`bad tag "${t}"`);
    tag = t as Tag;
    path = path.slice(0, colon);
  }
  if (!isRepoName(path)) fail(`bad repository name "${path}" (lower case letters, digits, separators)`);
  const ref: ImageReference = { host, repository: path as RepoName };
  if (tag) ref.tag = tag;
  if (digest) ref.digest = digest;
  return ref;
}

export function formatImageReference(ref: ImageReference): string {
  return `${ref.host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/**
 * The one loopback check: `localhost`, `127.x.x.x` or `::1`, with or without a port (`[::1]:5000`,
 * `localhost:5000`) or brackets. The client allows plain HTTP there without asking (as Docker does); the server
 * listens without TLS or access checks only there.
 */
export function isLoopbackHost(host: string): boolean {
  // A bare IPv6 address ends in `:1`, which is not a port.
  const name = host.startsWith('[')
    ? host.slice(1, host.indexOf(']'))
    : isIP(host) === 6
      ? host
      : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
