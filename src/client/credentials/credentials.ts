import { BerthError } from '../../oci/errors.js';

/** A user name and a password (or an access token used as one): sent with Basic auth or to a token service. */
export interface PasswordCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Docker's identity token: an OAuth2 refresh token, exchanged at the registry's token service with
 * `grant_type=refresh_token`, never sent as a password. The user name, when known, goes along as `username`.
 */
export interface IdentityTokenCredentials {
  readonly identityToken: string;
  readonly username?: string;
}

/** What a registry login holds. Narrow with `isIdentityToken`. */
export type Credentials = PasswordCredentials | IdentityTokenCredentials;

/**
 * Credentials as found by a lookup, with where they came from (a file path or a helper program with the
 * setting that named it) for debug logs and error messages. Never holds more secrets than `Credentials`.
 */
export type FoundCredentials = Credentials & { readonly source: string };

export function isIdentityToken(credentials: Credentials): credentials is IdentityTokenCredentials {
  return 'identityToken' in credentials;
}

/** Rejects credentials no registry could use, before anything is written. Messages never hold the secret. */
export function checkCredentials(credentials: Credentials): void {
  const invalid = (why: string): never => {
    throw new BerthError('CREDENTIALS_INVALID', `cannot store credentials: ${why}`);
  };
  if (isIdentityToken(credentials)) {
    if (!credentials.identityToken) invalid('the identity token is empty');
    if (credentials.username?.includes(':')) invalid('the user name contains ":"');
    return;
  }
  if (!credentials.username) invalid('the user name is empty');
  // Basic auth and the `auth` field of config.json split user from password at the first colon.
  if (credentials.username.includes(':')) invalid('the user name contains ":"');
  if (!credentials.password) invalid('the password is empty');
}
