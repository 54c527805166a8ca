import { isDigest } from '../oci/digest.js';
import { BerthError } from '../oci/errors.js';
import type { ImageReference } from '../oci/reference.js';
import { chooseServer } from './admin-api.js';
import { RegistryResponseError } from './registry-client.js';
import { verifyCredentials } from './registry-login.js';
import { openSessionFor, type SessionSettings } from './session-settings.js';

/** HOST[:PORT] of `berth repos [SERVER]`: the argument, else the admin commands' server (a URL gives its host). */
export async function catalogHost(raw: string | undefined): Promise<string> {
  const chosen = raw ?? (await chooseServer(undefined));
  const host = /^[a-z][a-z0-9+.-]*:\/\//i.test(chosen)
    ? URL.canParse(chosen) && new URL(chosen).host
    : chosen;
  if (!host || /[/\s@]/.test(host))
    throw new BerthError('USAGE', `"${chosen}" is not a registry HOST[:PORT] or URL`);
  return host;
}

export interface RepositoryList {
  repositories: string[];
  /** Whether the caller had a login (`--creds` or a stored one); without, registries often list nothing. */
  loggedIn: boolean;
}

/** The repositories of a registry that the caller may pull from (its catalog, every page). */
export async function listRepositories(host: string, settings: SessionSettings): Promise<RepositoryList> {
  const session = await openSessionFor(settings, [host]);
  try {
    session.setTlsVerify(host, settings.tlsVerify);
    const loggedIn =
      settings.credentials !== undefined ||
      (await session.credentials.get(host).catch(() => undefined)) !== undefined;
    // A catalog answers an anonymous caller without a challenge (an empty list), so a caller with a login
    // shows it first: the ping meets the challenge, and the catalog request then carries a token.
    if (loggedIn) await verifyCredentials(session, host);
    return { repositories: await session.registry.listRepositories(host), loggedIn };
  } finally {
    await session.close();
  }
}

/** The tags of a repository. */
export async function listTags(ref: ImageReference, settings: SessionSettings): Promise<string[]> {
  const session = await openSessionFor(settings, [ref.host]);
  try {
    session.setTlsVerify(ref.host, settings.tlsVerify);
    return await session.repository(ref).listTags();
  } finally {
    await session.close();
  }
}

/**
 * Deletes a tag (`HOST/REPO:TAG`), or a manifest and so all its tags (`@DIGEST`, or a tag with
 * `manifest`); returns what was deleted, as `HOST/REPO:TAG` or `HOST/REPO@DIGEST`.
 */
export async function deleteImage(
  ref: ImageReference,
  options: { manifest: boolean },
  settings: SessionSettings,
): Promise<string> {
  const session = await openSessionFor(settings, [ref.host]);
  try {
    session.setTlsVerify(ref.host, settings.tlsVerify);
    const repo = session.repository(ref);
    let target = ref.digest ?? ref.tag;
    if (!target)
      throw new BerthError('USAGE', `${ref.host}/${ref.repository}: name a tag or a digest to delete`);
    if (options.manifest && ref.tag && !ref.digest) {
      const head = await repo.headManifest(ref.tag);
      if (!head?.digest) throw new BerthError('IMAGE_NOT_FOUND', `${repo.where}:${ref.tag}: no such tag`);
      target = head.digest;
    }
    try {
      await repo.deleteManifest(target);
    } catch (error) {
      // Registries without tag deletion answer UNSUPPORTED (405), or parse the tag as a digest (Distribution).
      const refused =
        error instanceof RegistryResponseError &&
        (error.status === 405 || (error.status === 400 && error.ociCode !== 'NAME_INVALID'));
      if (refused && !isDigest(target)) {
        throw new BerthError(
          'UNSUPPORTED',
          `${repo.where}: the registry cannot delete a tag alone; --manifest deletes the manifest and all its tags`,
        );
      }
      throw error;
    }
    return `${repo.where}${isDigest(target) ? `@${target}` : `:${target}`}`;
  } finally {
    await session.close();
  }
}
