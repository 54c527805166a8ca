import type { ClientSession } from '../client/client-session.js';
import { describeLocation, parseImageLocation } from '../client/image-location.js';
import type { ImageSource } from '../client/sources/image-source.js';
import { BerthError } from '../oci/errors.js';
import { type ClientFlags, openSession, parseBool } from './client-options.js';

/**
 * Opens the image a command names (any transport), runs `run` on it, and closes everything; errors name
 * the image once.
 */
export async function withImageSource<T>(
  raw: string,
  flags: ClientFlags,
  run: (source: ImageSource, session: ClientSession) => Promise<T>,
): Promise<T> {
  const location = parseImageLocation(raw);
  const session = await openSession(flags, location.transport === 'docker' ? [location.ref.host] : []);
  if (location.transport === 'docker')
    session.setTlsVerify(location.ref.host, parseBool(flags.tlsVerify, '--tls-verify'));
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
