// Apart from the admin API client so that the CLI can name the default server in its help and write paths
// without loading the transport on every start.

/** The server admin commands talk to when nothing else names one. */
export const DEFAULT_SERVER = 'http://127.0.0.1:5000';

/** A path segment: robot names hold `$`, which is sent percent-encoded. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
