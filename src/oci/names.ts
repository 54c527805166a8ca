import { RegistryError } from './errors.js';

declare const repoBrand: unique symbol;
declare const tagBrand: unique symbol;
/** A repository name that matches the distribution-spec grammar. */
export type RepoName = string & { readonly [repoBrand]: true };
/** A tag that matches the distribution-spec grammar. */
export type Tag = string & { readonly [tagBrand]: true };

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const REPO_NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// Clients limit host + "/" + name to 255 characters; keep names well inside that.
export const MAX_REPO_NAME_LENGTH = 200;

export function parseRepoName(raw: string): RepoName {
  if (raw.length === 0 || raw.length > MAX_REPO_NAME_LENGTH || !REPO_NAME.test(raw)) {
    throw new RegistryError('NAME_INVALID', { name: raw });
  }
  return raw as RepoName;
}

export function isRepoName(raw: string): raw is RepoName {
  return raw.length > 0 && raw.length <= MAX_REPO_NAME_LENGTH && REPO_NAME.test(raw);
}

export function parseTag(raw: string): Tag {
  if (!TAG.test(raw)) throw new RegistryError('TAG_INVALID', { tag: raw });
  return raw as Tag;
}

export function isTag(raw: string): raw is Tag {
  return TAG.test(raw);
}
