import { BerthError } from '../../oci/errors.js';
import { describeLocation, type ImageLocation } from '../image-location.js';
import { openDockerArchive } from './docker-archive-source.js';
import { openDockerDaemon } from './docker-daemon-source.js';
import type { ImageSource } from './image-source.js';
import { openOciArchive, openOciLayout } from './oci-layout-source.js';

export interface OpenSourceOptions {
  /** Where archives are decompressed and engine exports written (default: the system's temporary folder). */
  tempDir?: string;
  /** The Docker engine endpoint for `docker-daemon:` (default: `DOCKER_HOST` from `env`, else the usual socket). */
  dockerHost?: string;
  /** The environment `DOCKER_HOST` is read from (default: the process environment). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** Opens the image at `location` for reading. Close the source when done: it may hold temporary files. */
export async function openImageSource(
  location: ImageLocation,
  options: OpenSourceOptions = {},
): Promise<ImageSource> {
  const tempDir = options.tempDir !== undefined ? { tempDir: options.tempDir } : {};
  switch (location.transport) {
    case 'docker-archive':
      return openDockerArchive(location.path, location.image, tempDir);
    case 'oci':
      return openOciLayout(location.path, location.tag);
    case 'oci-archive':
      return openOciArchive(location.path, location.tag, tempDir);
    case 'docker-daemon':
      return openDockerDaemon(location.name, {
        ...tempDir,
        ...(options.dockerHost !== undefined ? { host: options.dockerHost } : {}),
        ...(options.env ? { env: options.env } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    case 'docker':
      throw new BerthError(
        'UNSUPPORTED_SOURCE',
        `${describeLocation(location)}: reading from a registry is not available yet`,
      );
  }
}
