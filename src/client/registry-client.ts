import { Readable } from 'node:stream';
import { z } from 'zod';
import { type Digest, digestOf, isDigest, parseDigest } from '../oci/digest.js';
import { BerthError, type BerthErrorCode } from '../oci/errors.js';
import { MANIFEST_MEDIA_TYPES, MediaType } from '../oci/media-types.js';
import { isRepoName } from '../oci/names.js';
import { isLoopbackHost } from '../oci/reference.js';
import { v2Url } from '../oci/v2-path.js';
import { NetworkError } from './transport/http-transport.js';
import {
  header,
  type RequestBody,
  type ResponseBody,
  type Transport,
  type TransportResponse,
} from './transport/transport.js';

/** An error answer of a registry, with its HTTP status and OCI error code. */
export class RegistryResponseError extends BerthError {
  constructor(
    code: BerthErrorCode,
    message: string,
    readonly status: number,
    readonly ociCode: string | undefined,
  ) {
    super(code, message);
  }
}

export interface ManifestResponse {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/** Every manifest type Berth can copy, for Accept headers. */
export const ACCEPT_MANIFESTS = [...MANIFEST_MEDIA_TYPES].join(', ');

export interface RegistryClientOptions {
  /** Whether plain HTTP may be tried when HTTPS fails (loopback hosts always may). */
  allowHttp: (host: string) => boolean;
}

/** Talks the Distribution API to registries through a composed transport; one per process. */
export class RegistryClient {
  private readonly bases = new Map<string, Promise<URL>>();

  constructor(
    readonly transport: Transport,
    private readonly options: RegistryClientOptions,
  ) {}

  repository(host: string, name: string): RepositoryClient {
    return new RepositoryClient(this, host, name);
  }

  /**
   * The base URL of a host: HTTPS, or plain HTTP when HTTPS fails and HTTP is allowed for it (loopback, or
   * `--tls-verify=false`), as Docker treats insecure registries. Decided once per host.
   */
  base(host: string): Promise<URL> {
    let base = this.bases.get(host);
    if (!base) {
      base = this.probe(host);
      this.bases.set(host, base);
      base.catch(() => this.bases.delete(host));
    }
    return base;
  }

  /**
   * The repositories of a registry's catalog that the caller may see, page after page (`n`, `last` and the
   * `Link` header). A next page elsewhere than the registry itself, or one that does not move on, ends it:
   * credentials go nowhere else and a hostile server cannot keep the loop going.
   */
  async listRepositories(host: string, pageSize = 1000): Promise<string[]> {
    const base = await this.base(host);
    const names: string[] = [];
    const seen = new Set<string>();
    let url = new URL(`${v2Url.catalog()}?n=${pageSize}`, base);
    for (;;) {
      const response = await this.transport({ method: 'GET', url, scope: ['registry:catalog:*'] });
      if (response.status !== 200) {
        const text = await response.body.text().catch(() => '');
        let detail = '';
        try {
          const first = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
          detail = first ? ` ${first.code ?? ''}${first.message ? `: ${first.message}` : ''}` : '';
        } catch {}
        const code =
          response.status === 401 ? 'UNAUTHORIZED' : response.status === 403 ? 'DENIED' : 'REGISTRY_ERROR';
        throw new RegistryResponseError(
          code,
          `${host}: listing repositories failed: ${response.status}${detail}${response.status === 401 ? ` (authentication required: run \`berth login ${host}\`)` : ''}`,
          response.status,
          undefined,
        );
      }
      const body = catalogSchema.safeParse(await response.body.json().catch(() => undefined));
      if (!body.success)
        throw new BerthError('REGISTRY_ERROR', `${host}: the catalog answer is not a repository list`);
      for (const name of body.data.repositories ?? []) {
        // Only real repository names: no terminal escapes or other text of the server's own reach the output.
        if (!isRepoName(name)) continue;
        if (!seen.has(name)) names.push(name);
        seen.add(name);
      }
      const link = header(response, 'link');
      const next = link ? /<([^>]+)>;\s*rel="?next"?/.exec(link)?.[1] : undefined;
      if (!next) return names;
      const following = new URL(next, response.url);
      const last = following.searchParams.get('last');
      if (following.origin !== base.origin || last === null || last === url.searchParams.get('last'))
        return names;
      url = following;
    }
  }

  private async probe(host: string): Promise<URL> {
    const https = new URL(`https://${host}/`);
    try {
      const response = await this.transport({
        method: 'GET',
        url: new URL(v2Url.base(), https),
        anonymous: true,
      });
      await response.body.dump();
      return https;
    } catch (error) {
      const http = this.options.allowHttp(host) || isLoopbackHost(host);
      // Only a server that does not speak TLS at all is tried over plain HTTP: a certificate that does not
      // verify is an answer in itself, and falling back would hide it.
      if (!http || !(error instanceof NetworkError) || (error.tlsFailure && !error.plainHttpServer))
        throw error;
      const plain = new URL(`http://${host}/`);
      try {
        const response = await this.transport({
          method: 'GET',
          url: new URL(v2Url.base(), plain),
          anonymous: true,
        });
        await response.body.dump();
      } catch (fallback) {
        // Neither scheme answered: the HTTPS failure is the one to explain.
        throw fallback instanceof NetworkError ? error : fallback;
      }
      return plain;
    }
  }
}

const catalogSchema = z.object({ repositories: z.array(z.string().max(512)).nullable().optional() });

function pullScope(name: string): string {
  return `repository:${name}:pull`;
}

function pushScope(name: string): string {
  return `repository:${name}:pull,push`;
}

/** The Distribution API on one repository. Methods throw `RegistryResponseError` for unexpected answers. */
export class RepositoryClient {
  constructor(
    private readonly client: RegistryClient,
    readonly host: string,
    readonly name: string,
  ) {}

  get where(): string {
    return `${this.host}/${this.name}`;
  }

  private async url(path: string): Promise<URL> {
    return new URL(path, await this.client.base(this.host));
  }

  private async send(
    method: string,
    target: string | URL,
    scope: string[],
    init: {
      headers?: Record<string, string>;
      body?: RequestBody | Readable;
      signal?: AbortSignal | undefined;
    } = {},
  ): Promise<TransportResponse> {
    const url = typeof target === 'string' ? await this.url(target) : target;
    return this.client.transport({ method, url, scope, ...init } as Parameters<Transport>[0]);
  }

  /** Turns an unexpected answer into an error naming the repository and what the registry said. */
  async fail(response: TransportResponse, what: string): Promise<never> {
    let ociCode: string | undefined;
    let detail = '';
    // A HEAD answer has no body, and some callers have already drained it: read only what is still there.
    const body = response.body as ResponseBody & { bodyUsed?: boolean };
    const text = body.bodyUsed || body.destroyed ? '' : await body.text().catch(() => '');
    try {
      const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      const first = parsed.errors?.[0];
      ociCode = first?.code;
      detail = first ? `${first.code ?? ''}${first.message ? `: ${first.message}` : ''}` : '';
    } catch {
      detail = text.slice(0, 200).trim();
    }
    const status = response.status;
    const code = status === 401 ? 'UNAUTHORIZED' : status === 403 ? 'DENIED' : 'REGISTRY_ERROR';
    const hint =
      status === 401
        ? ` (authentication required: run \`berth login ${this.host}\`)`
        : status === 403
          ? ' (no permission for this)'
          : '';
    throw new RegistryResponseError(
      code,
      `${this.where}: ${what} failed: ${status}${detail ? ` ${detail}` : ''}${hint}`,
      status,
      ociCode,
    );
  }

  async headBlob(digest: Digest, signal?: AbortSignal): Promise<number | undefined> {
    const response = await this.send('HEAD', v2Url.blob(this.name, digest), [pullScope(this.name)], {
      signal,
    });
    await response.body.dump();
    if (response.status === 404) return undefined;
    if (response.status !== 200) return this.fail(response, `checking blob ${digest}`);
    return Number(header(response, 'content-length'));
  }

  /** A blob's bytes, from `offset` on. Follows redirects to storage (presigned URLs) without credentials. */
  async getBlob(digest: Digest, options: { offset?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const headers: Record<string, string> = {};
    if (options.offset) headers.range = `bytes=${options.offset}-`;
    let response = await this.send('GET', v2Url.blob(this.name, digest), [pullScope(this.name)], {
      headers,
      signal: options.signal,
    });
    for (let hops = 0; [301, 302, 303, 307, 308].includes(response.status) && hops < 5; hops++) {
      const location = header(response, 'location');
      await response.body.dump();
      if (!location) break;
      response = await this.client.transport({
        method: 'GET',
        url: new URL(location, response.url),
        headers,
        signal: options.signal,
      } as Parameters<Transport>[0]);
    }
    if (response.status === 200 && options.offset) {
      // The registry ignored the range: skip the bytes ourselves.
      return skipBytes(response.body, options.offset);
    }
    if (response.status !== 200 && response.status !== 206)
      return this.fail(response, `fetching blob ${digest}`);
    return response.body;
  }

  async getManifest(reference: string, signal?: AbortSignal): Promise<ManifestResponse | undefined> {
    const response = await this.send('GET', v2Url.manifest(this.name, reference), [pullScope(this.name)], {
      headers: { accept: ACCEPT_MANIFESTS },
      signal,
    });
    if (response.status === 404) {
      await response.body.dump();
      return undefined;
    }
    if (response.status !== 200) return this.fail(response, `fetching manifest ${reference}`);
    const bytes = Buffer.from(await response.body.arrayBuffer());
    const algorithm = isDigest(reference) ? parseDigest(reference).split(':')[0] : 'sha256';
    const digest = digestOf(bytes, algorithm as 'sha256' | 'sha512');
    if (isDigest(reference) && digest !== reference) {
      throw new BerthError(
        'BLOB_CORRUPT',
        `${this.where}: manifest ${reference} came back with digest ${digest}`,
      );
    }
    const mediaType = mediaTypeOf(bytes, header(response, 'content-type'));
    return { bytes, mediaType, digest };
  }

  async headManifest(
    reference: string,
    signal?: AbortSignal,
  ): Promise<{ digest?: Digest; size: number } | undefined> {
    const response = await this.send('HEAD', v2Url.manifest(this.name, reference), [pullScope(this.name)], {
      headers: { accept: ACCEPT_MANIFESTS },
      signal,
    });
    await response.body.dump();
    if (response.status === 404) return undefined;
    if (response.status !== 200) return this.fail(response, `checking manifest ${reference}`);
    const digest = header(response, 'docker-content-digest');
    const result: { digest?: Digest; size: number } = { size: Number(header(response, 'content-length')) };
    if (digest && isDigest(digest)) result.digest = digest as Digest;
    return result;
  }

  async putManifest(
    reference: string,
    bytes: Buffer,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<Digest> {
    const response = await this.send('PUT', v2Url.manifest(this.name, reference), [pushScope(this.name)], {
      headers: { 'content-type': mediaType },
      body: bytes,
      signal,
    });
    if (response.status !== 201 && response.status !== 200)
      return this.fail(response, `pushing manifest ${reference}`);
    await response.body.dump();
    return digestOf(bytes);
  }

  /**
   * Pushes a manifest that has a `subject`; `subjectProcessed` is whether the registry said so with
   * `OCI-Subject` (OCI 1.1), else the client must keep the tag schema's referrers index itself.
   */
  async putManifestWithSubject(
    reference: string,
    bytes: Buffer,
    mediaType: string,
  ): Promise<{ digest: Digest; subjectProcessed: boolean }> {
    const response = await this.send('PUT', v2Url.manifest(this.name, reference), [pushScope(this.name)], {
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    if (response.status !== 201 && response.status !== 200)
      return this.fail(response, `pushing manifest ${reference}`);
    await response.body.dump();
    return { digest: digestOf(bytes), subjectProcessed: header(response, 'oci-subject') !== undefined };
  }

  /** The referrers API's index of `digest`, or undefined when the registry has no referrers API (404). */
  async getReferrers(digest: Digest): Promise<Buffer | undefined> {
    const response = await this.send('GET', v2Url.referrers(this.name, digest), [pullScope(this.name)]);
    if (response.status === 404) {
      await response.body.dump();
      return undefined;
    }
    if (response.status !== 200) return this.fail(response, `listing the referrers of ${digest}`);
    // An index of a thousand entries is far below this; a larger answer is not read whole.
    const length = Number(header(response, 'content-length') ?? 0);
    if (length > 4 * 1024 * 1024) {
      await response.body.dump();
      throw new BerthError('REGISTRY_ERROR', `${this.where}: the referrers answer is too large`);
    }
    const bytes = Buffer.from(await response.body.arrayBuffer());
    if (bytes.length > 4 * 1024 * 1024)
      throw new BerthError('REGISTRY_ERROR', `${this.where}: the referrers answer is too large`);
    return bytes;
  }

  async deleteManifest(reference: string): Promise<void> {
    const response = await this.send('DELETE', v2Url.manifest(this.name, reference), [
      `repository:${this.name}:delete`,
    ]);
    if (response.status !== 202 && response.status !== 200)
      return this.fail(response, `deleting ${reference}`);
    await response.body.dump();
  }

  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let target: string | URL = `${v2Url.tags(this.name)}?n=1000`;
    for (;;) {
      const response = await this.send('GET', target, [pullScope(this.name)]);
      if (response.status !== 200) return this.fail(response, 'listing tags');
      const body = (await response.body.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const link = header(response, 'link');
      const next = link ? /<([^>]+)>;\s*rel="?next"?/.exec(link)?.[1] : undefined;
      if (!next) return tags;
      target = new URL(next, response.url);
    }
  }

  /** Tries a cross-repository mount; returns true when mounted, else the upload session the registry opened. */
  async mount(digest: Digest, from: string): Promise<true | UploadSession> {
    const path = `${v2Url.uploads(this.name)}?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const response = await this.send('POST', path, [pushScope(this.name), pullScope(from)]);
    if (response.status === 201) {
      await response.body.dump();
      return true;
    }
    if (response.status === 202) return this.session(response);
    return this.fail(response, `mounting ${digest} from ${from}`);
  }

  async startUpload(): Promise<UploadSession> {
    const response = await this.send('POST', v2Url.uploads(this.name), [pushScope(this.name)]);
    if (response.status !== 202) return this.fail(response, 'starting an upload');
    return this.session(response);
  }

  private async session(response: TransportResponse): Promise<UploadSession> {
    const location = header(response, 'location');
    await response.body.dump();
    if (!location) throw new BerthError('REGISTRY_ERROR', `${this.where}: upload session without a Location`);
    const minimum = Number(header(response, 'oci-chunk-min-length'));
    return {
      location: new URL(location, response.url).toString(),
      chunkMinLength: Number.isFinite(minimum) ? minimum : 0,
    };
  }

  /** Where an upload stands: the next byte the registry expects. */
  async uploadStatus(location: string): Promise<{ location: string; offset: number } | undefined> {
    const response = await this.send('GET', new URL(location), [pushScope(this.name)]);
    await response.body.dump();
    if (response.status === 404) return undefined;
    if (response.status !== 204 && response.status !== 202 && response.status !== 200) {
      return this.fail(response, 'asking for the upload status');
    }
    return { location: nextLocation(response, location), offset: rangeEnd(header(response, 'range')) };
  }

  /** Sends one chunk starting at `offset`; returns the next location and offset. */
  async patch(
    location: string,
    body: RequestBody | Readable,
    offset: number,
    length: number | undefined,
    signal?: AbortSignal,
  ): Promise<{ location: string; offset: number }> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (length !== undefined) {
      headers['content-length'] = String(length);
      headers['content-range'] = `${offset}-${offset + length - 1}`;
    }
    const response = await this.send('PATCH', new URL(location), [pushScope(this.name)], {
      headers,
      body,
      signal,
    });
    if (response.status !== 202 && response.status !== 204) return this.fail(response, 'uploading a chunk');
    await response.body.dump();
    const end = header(response, 'range');
    return {
      location: nextLocation(response, location),
      offset: end ? rangeEnd(end) : offset + (length ?? 0),
    };
  }

  /**
   * Closes an upload with `PUT ?digest=`, carrying the blob itself when `body` is given (a small blob in two
   * requests: every registry takes this, while a single `POST ?digest=` is optional and CNCF Distribution
   * answers it with a session after the body was sent for nothing).
   */
  async completeUpload(
    location: string,
    digest: Digest,
    signal?: AbortSignal,
    body?: { open: RequestBody; size: number },
  ): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const headers: Record<string, string> = { 'content-length': String(body?.size ?? 0) };
    if (body) headers['content-type'] = 'application/octet-stream';
    const response = await this.send('PUT', url, [pushScope(this.name)], {
      headers,
      ...(body ? { body: body.open } : {}),
      signal,
    });
    if (response.status !== 201 && response.status !== 204) {
      return this.fail(response, `finishing the upload of ${digest}`);
    }
    await response.body.dump();
  }

  async cancelUpload(location: string): Promise<void> {
    const response = await this.send('DELETE', new URL(location), [pushScope(this.name)]);
    await response.body.dump();
  }
}

export interface UploadSession {
  location: string;
  chunkMinLength: number;
}

function nextLocation(response: TransportResponse, current: string): string {
  const location = header(response, 'location');
  return location ? new URL(location, response.url).toString() : current;
}

/** `0-N` means N+1 bytes stored. `0-0` is ambiguous (0 or 1 byte); registries send it for an empty upload. */
function rangeEnd(range: string | undefined): number {
  const m = range ? /(\d+)-(\d+)/.exec(range) : null;
  if (!m) return 0;
  const end = Number(m[2]);
  return end === 0 ? 0 : end + 1;
}

function mediaTypeOf(bytes: Buffer, contentType: string | undefined): string {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: unknown };
    if (parsed.mediaType) return parsed.mediaType;
    const header = contentType?.split(';')[0]?.trim();
    if (header && MANIFEST_MEDIA_TYPES.includes(header)) return header;
    return parsed.manifests ? MediaType.ociIndex : MediaType.ociManifest;
  } catch {
    throw new BerthError('MANIFEST_INVALID', 'the registry sent a manifest that is not JSON');
  }
}

async function* dropPrefix(source: Readable, count: number): AsyncGenerator<Buffer> {
  let left = count;
  for await (const chunk of source) {
    const buffer = chunk as Buffer;
    if (left >= buffer.length) {
      left -= buffer.length;
      continue;
    }
    yield left > 0 ? buffer.subarray(left) : buffer;
    left = 0;
  }
}

function skipBytes(source: Readable, count: number): Readable {
  return Readable.from(dropPrefix(source, count));
}
