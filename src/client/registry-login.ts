import { BerthError } from '../oci/errors.js';
import { ClientSession } from './client-session.js';
import type { Credentials } from './credentials/credentials.js';
import { isBerthServer, rememberServer } from './remembered-server.js';
import { openSessionFor, type SessionSettings } from './session-settings.js';

/** Checks credentials against the registry: the ping goes through the auth layer, which uses them. */
export async function verifyCredentials(session: ClientSession, host: string): Promise<void> {
  const base = await session.registry.base(host);
  const response = await session.registry.transport({ method: 'GET', url: new URL('/v2/', base), scope: [] });
  await response.body.dump();
  if (response.status === 401) {
    throw new BerthError('UNAUTHORIZED', `${host}: login failed: the registry refused the credentials`);
  }
  if (response.status >= 400)
    throw new BerthError('LOGIN_FAILED', `${host}: login failed: the registry answered ${response.status}`);
}

export interface LoginResult {
  /** Where the credentials went: a credential helper's name or a file. */
  location: string;
  /** Whether they are stored unencrypted. */
  plaintext: boolean;
}

/**
 * Logs in to a registry: checks the credentials, stores them where Docker would, and, when the registry is
 * a Berth, makes it the server of admin commands (a login elsewhere, such as Docker Hub, leaves that).
 */
export async function logIn(
  host: string,
  credentials: Credentials,
  settings: SessionSettings,
): Promise<LoginResult> {
  const session = await openSessionFor({ ...settings, credentials: undefined });
  try {
    session.setTlsVerify(host, settings.tlsVerify);
    session.addCredentials(host, credentials);
    await verifyCredentials(session, host);
    const stored = await session.credentials.store(host, credentials);
    if (await isBerthServer(session.registry, host).catch(() => false)) await rememberServer(host);
    return { location: stored.location, plaintext: stored.plaintext };
  } finally {
    await session.close();
  }
}

/** Removes the stored credentials of a registry; false when there were none. */
export async function logOut(host: string, authFile?: string): Promise<boolean> {
  const session = await ClientSession.create(authFile ? { authFile } : {});
  try {
    return await session.credentials.erase(host);
  } finally {
    await session.close();
  }
}
