import { BerthError } from '../oci/errors.js';
import type { ClientSession } from './client-session.js';
import { describeLocation, type ImageLocation } from './image-location.js';
import { openSessionFor, type SessionSettings } from './session-settings.js';
import type { ImageSource } from './sources/image-source.js';

/**
 * Opens the image a command names (any transport), runs `run` on it, and closes everything; errors name
 * the image once.
 */
export async function withImageSource<T>(
  location: ImageLocation,
  settings: SessionSettings,
  run: (source: ImageSource, session: ClientSession) => Promise<T>,
): Promise<T> {
  const session = await openSessionFor(settings, location.transport === 'docker' ? [location.ref.host] : []);
  if (location.transport === 'docker') session.setTlsVerify(location.ref.host, settings.tlsVerify);
  let source: ImageSource | undefined;
  try {
    source = await session.openSource(location);
    return await run(source, session);
  } catch (error) {
    if (error instanceof BerthError && !error.message.includes(describeLocation(location))) {
      throw new BerthError(error.code, `${describeLocation(location)}: ${error.message}`, { cause: error });
    }
    throw error;
  } finally {
    await source?.close().catch(() => {});
    await session.close();
  }
}
