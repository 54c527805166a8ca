import { ClientSession, type SessionOptions } from './client-session.js';
import type { Credentials } from './credentials/credentials.js';

/** How a command's client session is set up, from its flags: TLS, credentials files, timeout, debug log. */
export interface SessionSettings extends Omit<SessionOptions, 'creds'> {
  /** `--creds`: for the registry the command names (a copy's destination), over anything stored. */
  credentials?: Credentials | undefined;
}

/** A client session whose `--creds` apply to `hosts`. */
export async function openSessionFor(
  settings: SessionSettings,
  hosts: string[] = [],
): Promise<ClientSession> {
  const { credentials, ...options } = settings;
  const creds = new Map<string, Credentials>();
  if (credentials) for (const host of hosts) creds.set(host, credentials);
  return ClientSession.create({ ...options, creds });
}
