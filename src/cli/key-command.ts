import type { Command } from 'commander';
import { BerthError } from '../oci/errors.js';
import { onAction } from './exit-status.js';
import { promptLine } from './prompt.js';

/**
 * The passphrase of a private key: `BERTH_KEY_PASSWORD` when set (even empty, as cosign's COSIGN_PASSWORD),
 * else asked on the terminal; without either the command fails rather than wait on a pipe.
 */
export async function keyPassword(purpose: 'read' | 'new'): Promise<string> {
  const fromEnv = process.env.BERTH_KEY_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY)
    throw new BerthError('USAGE', 'no passphrase: set BERTH_KEY_PASSWORD or run on a terminal');
  if (purpose === 'read') return promptLine('Enter password for private key: ', true);
  const first = await promptLine('Enter password for private key: ', true);
  const again = await promptLine('Enter password for private key again: ', true);
  if (first !== again) throw new BerthError('USAGE', 'the passwords do not match');
  return first;
}

interface GenerateFlags {
  outputKeyPrefix: string;
  force?: boolean;
}

export function registerKeyCommand(program: Command): void {
  const key = program.command('key').description('signing keys in cosign’s formats');
  const generate = key
    .command('generate')
    .description(
      'write an ECDSA P-256 key pair as cosign does: PREFIX.key (encrypted, passphrase from BERTH_KEY_PASSWORD or a prompt) and PREFIX.pub',
    )
    .option('--output-key-prefix <name>', 'file name prefix of the pair', 'cosign')
    .option('--force', 'replace existing key files')
    .addHelpText(
      'after',
      '\nExample:\n  $ BERTH_KEY_PASSWORD=… berth key generate --output-key-prefix release',
    );
  onAction(generate, async (flags: GenerateFlags) => {
    const { generateKeyFiles } = await import('../client/signing-keys.js');
    const password = await keyPassword('new');
    const written = await generateKeyFiles(flags.outputKeyPrefix, password, flags.force === true);
    process.stderr.write(
      `Private key written to ${written.privatePath}\nPublic key written to ${written.publicPath}\n`,
    );
    return 0;
  });
}
