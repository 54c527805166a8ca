import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { writeAtomically } from '../files/atomic-write.js';
import { BerthError } from '../oci/errors.js';
import type { RegistryClient } from './registry-client.js';
import { header } from './transport/transport.js';

/** `$XDG_CONFIG_HOME/berth/server.json`, else `~/.config/berth/server.json`: the server of the last login. */
export function rememberedServerFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'berth', 'server.json');
}

// HOST[:PORT] as `berth login` takes it: no scheme, path, user info or whitespace.
const serverFileSchema = z.object({ server: z.string().regex(/^[A-Za-z0-9.[\]:-]{1,300}$/) }).strict();

/**
 * The server `berth login` last reached a Berth at, or undefined when none was recorded. A file that is
 * there but damaged is an error naming it, not a silent fall back to another server.
 */
export async function readRememberedServer(
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const file = rememberedServerFile(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BerthError('CONFIG_INVALID', `cannot read ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = serverFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new BerthError(
      'CONFIG_INVALID',
      `${file} is damaged: log in again with \`berth login HOST\`, or give --server`,
    );
  return parsed.data.server;
}

/** Records the server of a login, atomically (a crash leaves the previous one or this one). */
export async function rememberServer(host: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const record = serverFileSchema.parse({ server: host });
  await writeAtomically(rememberedServerFile(env), `${JSON.stringify(record)}\n`);
}

/**
 * Whether a host is a Berth: its admin API answers an anonymous caller with Berth's own Basic challenge.
 * No credentials are sent, so asking a registry that is not Berth costs it nothing.
 */
export async function isBerthServer(registry: RegistryClient, host: string): Promise<boolean> {
  const base = await registry.base(host);
  const response = await registry.transport({
    method: 'GET',
    url: new URL('/api/v1/me', base),
    anonymous: true,
  });
  await response.body.dump();
  return response.status === 401 && /realm="berth"/i.test(header(response, 'www-authenticate') ?? '');
}
