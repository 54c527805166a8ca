import { existsSync } from 'node:fs';
import { BerthError } from '../oci/errors.js';
import type { ManifestFormat } from '../oci/manifest-format.js';
import type { ImageReference } from '../oci/reference.js';
import { BlobInfoCache } from './blob-info-cache.js';
import { berthCacheDir } from './cache-dir.js';
import { type CredentialStore, openCredentialStore } from './credentials/credential-store.js';
import type { Credentials } from './credentials/credentials.js';
import type { ImageDestination } from './destinations/image-destination.js';
import { OciLayoutDestination } from './destinations/oci-layout-destination.js';
import { RegistryDestination } from './destinations/registry-destination.js';
import type { ImageLocation } from './image-location.js';
import { RegistryClient, type RepositoryClient } from './registry-client.js';
import type { ImageSource } from './sources/image-source.js';
import { openImageSource } from './sources/open-image-source.js';
import { openRegistrySource } from './sources/registry-source.js';
import { authMiddleware } from './transport/auth-middleware.js';
import { debugMiddleware } from './transport/debug-middleware.js';
import { httpTransport } from './transport/http-transport.js';
import { retryMiddleware } from './transport/retry-middleware.js';
import type { TlsPolicy } from './transport/tls-options.js';
import { compose } from './transport/transport.js';
import { UploadState } from './upload-state.js';

export interface SessionOptions {
  env?: NodeJS.ProcessEnv;
  /** `--tls-verify`: for every host; the per-side flags below win over it. */
  tlsVerify?: boolean | undefined;
  caFile?: string | undefined;
  certDir?: string | undefined;
  /** `--authfile`: the only credentials file read and written. */
  authFile?: string | undefined;
  /** `--creds user:password` for a host, over anything stored. */
  creds?: Map<string, Credentials>;
  /** `--debug`: where request lines go. */
  debug?: ((line: string) => void) | undefined;
  /** Seconds of silence before a request fails. */
  timeout?: number | undefined;
}

export interface UploadTuning {
  chunkSize: number;
  smallBlobMax: number;
}

const DEFAULT_CERT_DIRS = ['/etc/docker/certs.d', '/etc/containers/certs.d'];

/**
 * Everything a client command needs, built once: the transport (undici, auth, retry, debug), the registry
 * client, credentials, and the caches in `~/.cache/berth`. The client's composition root.
 */
export class ClientSession {
  private readonly tlsByHost = new Map<string, boolean>();
  readonly registry: RegistryClient;
  readonly credentials: CredentialStore;
  readonly cacheDir: string;
  private readonly closeTransport: () => Promise<void>;

  private constructor(
    private readonly options: SessionOptions,
    readonly cache: BlobInfoCache,
    readonly state: UploadState,
  ) {
    const env = options.env ?? process.env;
    this.cacheDir = berthCacheDir(env);
    this.credentials = openCredentialStore({
      env,
      ...(options.authFile ? { authFile: options.authFile } : {}),
    });
    const certDir = options.certDir ?? DEFAULT_CERT_DIRS.find((dir) => existsSync(dir));
    const tls = (host: string): TlsPolicy => ({
      verify: this.tlsByHost.get(host) ?? options.tlsVerify ?? true,
      caFile: options.caFile,
      certDir,
    });
    const base = httpTransport({ tls, idleTimeout: (options.timeout ?? 120) * 1000, userAgent: 'berth' });
    this.closeTransport = base.close;
    const auth = authMiddleware({
      credentials: async (host) => options.creds?.get(host) ?? (await this.credentials.get(host)),
      tokenTransport: retryMiddleware()(base),
    });
    const layers = [retryMiddleware(), auth];
    if (options.debug) layers.unshift(debugMiddleware(options.debug));
    this.registry = new RegistryClient(compose(base, ...layers), {
      allowHttp: (host) => (this.tlsByHost.get(host) ?? options.tlsVerify) === false,
    });
  }

  static async create(options: SessionOptions = {}): Promise<ClientSession> {
    const dir = berthCacheDir(options.env ?? process.env);
    return new ClientSession(options, await BlobInfoCache.open(dir), await UploadState.open(dir));
  }

  /** Credentials for one host over anything stored (`--src-creds`). */
  addCredentials(host: string, credentials: Credentials): void {
    this.options.creds ??= new Map();
    this.options.creds.set(host, credentials);
  }

  /** `--src-tls-verify` / `--dest-tls-verify`: the setting for one host. */
  setTlsVerify(host: string, verify: boolean | undefined): void {
    if (verify !== undefined) this.tlsByHost.set(host, verify);
  }

  repository(ref: ImageReference): RepositoryClient {
    return this.registry.repository(ref.host, ref.repository);
  }

  async openSource(location: ImageLocation, signal?: AbortSignal): Promise<ImageSource> {
    if (location.transport === 'docker') {
      const ref = location.ref;
      return openRegistrySource(this.repository(ref), ref.digest ?? ref.tag ?? 'latest');
    }
    return openImageSource(location, { env: this.options.env ?? process.env, ...(signal ? { signal } : {}) });
  }

  /** The destination and the tags to push it under. */
  async openDestination(
    location: ImageLocation,
    tuning: UploadTuning,
    mountFrom?: { host: string; repository: string },
  ): Promise<{ destination: ImageDestination; tags: string[]; format?: ManifestFormat }> {
    if (location.transport === 'docker') {
      const ref = location.ref;
      if (ref.digest && !ref.tag) {
        throw new BerthError(
          'LOCATION_INVALID',
          `${ref.host}/${ref.repository}: a destination needs a tag, not only a digest`,
        );
      }
      const login =
        this.options.creds?.get(ref.host) ?? (await this.credentials.get(ref.host).catch(() => undefined));
      const destination = new RegistryDestination(this.repository(ref), {
        account: login?.username,
        cache: this.cache,
        state: this.state,
        chunkSize: tuning.chunkSize,
        smallBlobMax: tuning.smallBlobMax,
        ...(mountFrom && mountFrom.host === ref.host ? { mountFrom: [mountFrom.repository] } : {}),
      });
      return { destination, tags: [ref.tag ?? 'latest'] };
    }
    if (location.transport === 'oci') {
      // OCI layouts hold OCI manifests only (skopeo and umoci read nothing else): Docker ones are converted.
      return {
        destination: await OciLayoutDestination.open(location.path),
        tags: location.tag ? [location.tag] : [],
        format: 'oci',
      };
    }
    throw new BerthError(
      'UNSUPPORTED_DESTINATION',
      `cannot write to ${location.transport}: destinations are docker://HOST/REPO:TAG or oci:DIR[:TAG]`,
    );
  }

  async close(): Promise<void> {
    await this.cache.save().catch(() => {});
    await this.closeTransport();
  }
}
