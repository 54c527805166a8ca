import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What one request to the mirror gets instead of a plain answer; queued in `OsvMirror.next`. */
export type MirrorBehaviour =
  /** Send the headers for the whole answer, then this many body bytes, then close the connection. */
  | { cutAfter: number }
  /** Answer 200 with the whole archive, whatever Range asked for. */
  | { ignoreRange: true }
  /** Publish this MD5 (base64) in x-goog-hash instead of the archive's. */
  | { md5: string }
  /** Answer with this status and no archive. */
  | { status: number };

export interface MirrorRequest {
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
  ifNoneMatch: string | undefined;
}

export interface OsvMirror {
  /** The base URL, ending in `/`. */
  url: string;
  /** `/<Ecosystem>/all.zip` → bytes. */
  archives: Map<string, Buffer>;
  /** Behaviours for the next requests, one used per request, in order. */
  next: MirrorBehaviour[];
  requests: MirrorRequest[];
  close(): Promise<void>;
}

/**
 * A loopback stand-in for OSV's export bucket: GET `/<Ecosystem>/all.zip` with the bucket's headers
 * (`ETag`, `x-goog-hash: crc32c=…,md5=…`, `Accept-Ranges`), Range requests answered with 206, and 304 for
 * an If-None-Match naming the current ETag.
 */
export async function startOsvMirror(): Promise<OsvMirror> {
  const archives = new Map<string, Buffer>();
  const next: MirrorBehaviour[] = [];
  const requests: MirrorRequest[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://mirror').pathname);
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    const ifNoneMatch = req.headers['if-none-match'];
    requests.push({ path, range, ifRange: Array.isArray(ifRange) ? ifRange[0] : ifRange, ifNoneMatch });
    const behaviour = next.shift();
    const archive = archives.get(path);
    if (behaviour && 'status' in behaviour) {
      res.writeHead(behaviour.status, { 'content-type': 'text/plain' }).end('no\n');
      return;
    }
    if (req.method !== 'GET' || !archive) {
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    const md5 = createHash('md5').update(archive).digest();
    const etag = `"${md5.toString('hex')}"`;
    const published = behaviour && 'md5' in behaviour ? behaviour.md5 : md5.toString('base64');
    const headers: Record<string, string> = {
      'content-type': 'application/zip',
      etag,
      // The crc32c value is a placeholder: Berth checks the MD5 only.
      'x-goog-hash': `crc32c=AAAAAA==,md5=${published}`,
      'accept-ranges': 'bytes',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    let status = 200;
    let body = archive;
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    const honoured = m && !(behaviour && 'ignoreRange' in behaviour) && (!ifRange || ifRange === etag);
    if (m && honoured) {
      const start = Number(m[1]);
      if (start >= archive.length) {
        res.writeHead(416, { 'content-range': `bytes */${archive.length}` }).end();
        return;
      }
      status = 206;
      body = archive.subarray(start);
      headers['content-range'] = `bytes ${start}-${archive.length - 1}/${archive.length}`;
    }
    headers['content-length'] = String(body.length);
    res.writeHead(status, headers);
    if (behaviour && 'cutAfter' in behaviour) {
      res.write(body.subarray(0, behaviour.cutAfter), () => res.socket?.destroy());
      return;
    }
    res.end(body);
  };
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    archives,
    next,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
