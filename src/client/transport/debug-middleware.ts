import type { TransportMiddleware } from './transport.js';

/**
 * `--debug`: one line per request and per response (method, URL, status, bytes, time). Authorization values
 * and token-bearing query parameters are never printed.
 */
export function debugMiddleware(write: (line: string) => void): TransportMiddleware {
  return (next) => async (request) => {
    const started = performance.now();
    const url = redactUrl(request.url);
    const auth = request.headers?.authorization
      ? ` auth=${request.headers.authorization.split(' ')[0]} <redacted>`
      : '';
    write(`> ${request.method} ${url}${auth}`);
    try {
      const response = await next(request);
      const ms = (performance.now() - started).toFixed(0);
      const length = response.headers['content-length'] ?? '?';
      write(`< ${response.status} ${request.method} ${url} ${length} bytes ${ms} ms`);
      return response;
    } catch (error) {
      write(
        `! ${request.method} ${url} failed after ${(performance.now() - started).toFixed(0)} ms: ${(error as Error).message}`,
      );
      throw error;
    }
  };
}

const SECRET_PARAMS =
  /^(?:token|access_token|refresh_token|password|x-amz-signature|x-amz-credential|signature)$/i;

function redactUrl(url: URL): string {
  const copy = new URL(url);
  for (const key of [...copy.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) copy.searchParams.set(key, 'redacted');
  }
  copy.username = '';
  copy.password = '';
  return copy.toString();
}
