import assert from 'node:assert/strict';
import type { Blob, TestImage } from './images.js';

/** A deliberately thin Distribution API client for tests: plain fetch, every status checked by the caller. */
export class TestClient {
  constructor(readonly base: string) {}

  url(path: string): string {
    return new URL(path, this.base).toString();
  }

  request(
    method: string,
    path: string,
    init: RequestInit & { headers?: Record<string, string> } = {},
  ): Promise<Response> {
    return fetch(this.url(path), {
      method,
      ...init,
      ...(init.body ? { duplex: 'half' } : {}),
    } as RequestInit);
  }

  /** Opens an upload session; returns its Location. */
  async startUpload(repo: string): Promise<string> {
    const res = await this.request('POST', `/v2/${repo}/blobs/uploads/`);
    assert.equal(res.status, 202, await res.text());
    return res.headers.get('location') as string;
  }

  /** The bytes of a blob as the registry serves them. */
  async blobBytes(repo: string, digest: string): Promise<Buffer> {
    const res = await this.request('GET', `/v2/${repo}/blobs/${digest}`);
    assert.equal(res.status, 200, `GET blob ${digest} from ${repo}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Pushes a blob with POST then PUT; returns the response of the PUT. */
  async pushBlob(repo: string, blob: Blob): Promise<Response> {
    const location = await this.startUpload(repo);
    const sep = location.includes('?') ? '&' : '?';
    const put = await this.request('PUT', `${location}${sep}digest=${blob.digest}`, {
      body: blob.bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    return put;
  }

  async pushManifest(repo: string, reference: string, manifest: Blob, mediaType: string): Promise<Response> {
    return this.request('PUT', `/v2/${repo}/manifests/${reference}`, {
      body: manifest.bytes,
      headers: { 'Content-Type': mediaType },
    });
  }

  /** Pushes every blob then the manifest under `reference`; asserts each step. */
  async pushImage(repo: string, reference: string, image: TestImage): Promise<void> {
    for (const blob of [image.config, ...image.layers]) {
      const res = await this.pushBlob(repo, blob);
      assert.equal(res.status, 201, await res.text());
    }
    const res = await this.pushManifest(repo, reference, image.manifest, image.mediaType);
    assert.equal(res.status, 201, await res.text());
  }
}

/** The OCI error code of an error response. */
export async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}
