import { BerthError } from '../../oci/errors.js';

/** Docker Hub's key in config.json, and the server URL Docker hands credential helpers for it. */
export const DOCKER_HUB_SERVER_ADDRESS = 'https://index.docker.io/v1/';

/** Docker Hub's host as podman and skopeo write it in auth.json, and as Berth compares hosts. */
export const DOCKER_HUB_HOST = 'docker.io';

const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/**
 * The registry host a server address names, for comparing keys: scheme and path dropped, lower case,
 * every Docker Hub alias as `docker.io`. Config files in the wild hold all of
 * `https://index.docker.io/v1/`, `registry.example.com:5000`, `http://host:5000/v2/`; all compare by host.
 * Returns '' for an address with no host.
 */
export function registryHost(address: string): string {
  let rest = address.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  const host = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB_HOST : host;
}

/** `registryHost` for an address a user or caller gave: an address with no host is an error. */
export function parseRegistryHost(address: string): string {
  const host = registryHost(address);
  if (!host) throw new BerthError('REGISTRY_HOST_INVALID', `"${address}" does not name a registry host`);
  return host;
}

export function isDockerHub(host: string): boolean {
  return registryHost(host) === DOCKER_HUB_HOST;
}

/**
 * The server address Docker uses for a host, as the `auths` key it writes and the server URL it sends
 * credential helpers: `https://index.docker.io/v1/` for Docker Hub, else the bare host (with its port).
 */
export function dockerServerAddress(host: string): string {
  const normalized = registryHost(host);
  return normalized === DOCKER_HUB_HOST ? DOCKER_HUB_SERVER_ADDRESS : normalized;
}
