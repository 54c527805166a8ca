import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Client } from 'undici';
import { BerthError } from '../../oci/errors.js';
import { familiarImageName, readDockerArchive, selectArchiveImage } from './docker-archive-source.js';
import type { ImageSource } from './image-source.js';
import { openTarArchive } from './tar-archive.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export interface DockerDaemonOptions {
  /** The engine's API endpoint: `unix:///path/to.sock` or `tcp://host:port`. Default: `DOCKER_HOST`, else the usual socket. */
  host?: string;
  /** Where `DOCKER_HOST` is read from (default: the process environment). */
  env?: NodeJS.ProcessEnv;
  /** Where the exported archive is written (default: the system's temporary folder); removed on close. */
  tempDir?: string;
  signal?: AbortSignal;
}

/** An undici client for a `DOCKER_HOST` value. */
function engineClient(host: string): Client {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath) throw new BerthError('DOCKER_HOST_INVALID', `DOCKER_HOST "${host}" names no socket`);
    // The host part of the URL is not used on a socket, but HTTP/1.1 needs a Host header.
    return new Client('http://localhost', { socketPath, headersTimeout: 0 });
  }
  if (host.startsWith('tcp://') || host.startsWith('http://')) {
    let url: URL;
    try {
      url = new URL(host.replace(/^tcp:/, 'http:'));
    } catch {
      throw new BerthError('DOCKER_HOST_INVALID', `DOCKER_HOST "${host}" is not a valid address`);
    }
    return new Client(url.origin, { headersTimeout: 0 });
  }
  throw new BerthError(
    'DOCKER_HOST_INVALID',
    `DOCKER_HOST "${host}" is not supported (use unix:///path/to.sock or tcp://host:port)`,
  );
}

/** `team/app:v1` → `team/app:v1` with every path segment escaped, slashes kept (the engines route on them). */
function imagePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

async function errorMessage(body: { text(): Promise<string> }): Promise<string> {
  const text = await body.text().catch(() => '');
  try {
    const json = JSON.parse(text) as { message?: unknown };
    if (typeof json.message === 'string') return oneLine(json.message);
  } catch {
    // not JSON: use the text
  }
  return oneLine(text);
}

/** Error bodies can be HTML pages or multi-line text; messages are one line. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/**
 * Exports the image `name` (`NAME:TAG` or `NAME@DIGEST`) from a Docker-compatible engine with
 * `GET /images/{name}/get` (a `docker save` archive, written to a temporary file) and reads it as a
 * docker-archive. Engine errors: `DOCKER_UNREACHABLE`, `IMAGE_NOT_FOUND`, `DOCKER_ERROR`.
 */
export async function openDockerDaemon(
  name: string,
  options: DockerDaemonOptions = {},
): Promise<ImageSource> {
  const env = options.env ?? process.env;
  const host = options.host ?? (env.DOCKER_HOST || DEFAULT_DOCKER_HOST);
  const description = `docker-daemon:${name}`;
  const client = engineClient(host);
  const signal = options.signal;
  let temp: string | undefined;
  const removeTemp = async (): Promise<void> => {
    if (temp) await rm(temp, { recursive: true, force: true });
  };

  const get = async (path: string) => {
    try {
      return await client.request({ method: 'GET', path, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (signal?.aborted) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new BerthError(
        'DOCKER_UNREACHABLE',
        `${description}: cannot reach the engine at ${host} (${code ?? (error as Error).message})`,
        { cause: error },
      );
    }
  };

  try {
    const ping = await get('/_ping');
    const pong = await ping.body.text();
    if (ping.statusCode !== 200) {
      throw new BerthError(
        'DOCKER_ERROR',
        `${description}: the engine at ${host} answered /_ping with ${ping.statusCode} ${oneLine(pong)}`,
      );
    }

    const inspect = await get(`/images/${imagePath(name)}/json`);
    if (inspect.statusCode === 404) {
      throw new BerthError(
        'IMAGE_NOT_FOUND',
        `${description}: no such image in the engine (${await errorMessage(inspect.body)})`,
      );
    }
    if (inspect.statusCode !== 200) {
      throw new BerthError(
        'DOCKER_ERROR',
        `${description}: inspecting the image failed: ${inspect.statusCode} ${await errorMessage(inspect.body)}`,
      );
    }
    await inspect.body.dump();

    const exported = await get(`/images/${imagePath(name)}/get`);
    if (exported.statusCode !== 200) {
      const code = exported.statusCode === 404 ? 'IMAGE_NOT_FOUND' : 'DOCKER_ERROR';
      throw new BerthError(
        code,
        `${description}: export failed: ${exported.statusCode} ${await errorMessage(exported.body)}`,
      );
    }
    temp = await mkdtemp(join(options.tempDir ?? tmpdir(), 'berth-daemon-'));
    const file = join(temp, 'image.tar');
    try {
      await pipeline(exported.body, createWriteStream(file));
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new BerthError(
        'DOCKER_ERROR',
        `${description}: the export broke off (${(error as Error).message})`,
        {
          cause: error,
        },
      );
    }
    await client.close();

    const label = `${description} (exported archive)`;
    const archive = await openTarArchive(file, { label, tempDir: options.tempDir });
    try {
      // The engine exported what it resolved the name to; when the archive holds one image, that is it (a
      // digest reference leaves RepoTags empty).
      return await readDockerArchive(
        archive,
        (images) =>
          images.length === 1 ? 0 : selectArchiveImage(images, { tag: familiarImageName(name) }, label),
        description,
        removeTemp,
      );
    } catch (error) {
      await archive.close();
      throw error;
    }
  } catch (error) {
    await client.destroy().catch(() => {});
    await removeTemp();
    throw error;
  }
}
