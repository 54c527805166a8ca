import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { z } from 'zod';
import type { AccessStore } from '../metadata/access-store.js';
import { BerthError } from '../oci/errors.js';
import { isValidGlob } from './repository-glob.js';

export const policySchema = z
  .object({
    repo: z
      .string()
      .refine(isValidGlob, 'a repository glob: lower-case names, "/", "*" within a segment, "**" across'),
    actions: z.array(z.enum(['pull', 'push', 'delete'])).min(1),
  })
  .strict();

export const roleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ".", "_", "-"'),
    policies: z.array(policySchema),
  })
  .strict();

const rolesFileSchema = z.object({ roles: z.array(roleSchema) }).strict();

/** Loads policy roles from a YAML file (`roles: [{name, policies: [{repo, actions}]}]`) into the store. */
export async function loadRolesFile(path: string, store: AccessStore, now: number): Promise<number> {
  let parsed: unknown;
  try {
    parsed = YAML.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new BerthError('CONFIG_INVALID', `cannot read roles file ${path}: ${(error as Error).message}`);
  }
  const result = rolesFileSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new BerthError(
      'CONFIG_INVALID',
      `roles file ${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  for (const role of result.data.roles) await store.putRole(role.name, role.policies, now);
  return result.data.roles.length;
}
