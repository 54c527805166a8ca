import type { Command } from 'commander';
import { BerthError } from '../oci/errors.js';
import { readStdinLines } from './admin-options.js';
import { onAction } from './exit-status.js';

interface ResetFlags {
  data?: string;
  config?: string;
  passwordStdin?: boolean;
}

export function registerAdminCommand(program: Command): void {
  const admin = program
    .command('admin')
    .description("recovery on the server's machine, straight on its data (no login needed)");
  const reset = admin
    .command('reset-password')
    .description("set a user's password in the server's database (a lost admin password)")
    .argument('[user]', 'the user', 'admin')
    .option('-d, --data <dir>', "the server's data folder (default ./berth-data)")
    .option('-c, --config <file>', "the server's configuration file (its data folder or PostgreSQL)")
    .option(
      '--password-stdin',
      'read the new password from standard input (else one is generated and printed)',
    )
    .addHelpText(
      'after',
      `
Run it as the server's user, with the server's --data or --config (BERTH_* variables apply as for serve).
It works while the server runs: the new password is accepted at once; the old one may still be accepted
for up to a minute (the server's login cache), and tokens issued before stay valid until they expire.

Examples:
  $ berth admin reset-password --data /var/lib/berth
  $ printf '%s\\n' "$NEW_PASSWORD" | berth admin reset-password alice --config /etc/berth/berth.yaml --password-stdin`,
    );
  onAction(reset, async (user: string, opts: ResetFlags) => {
    // The configuration's schema loads when this command runs, not on every start.
    const { loadServerConfig } = await import('../main/server-config.js');
    const config = loadServerConfig({ configFile: opts.config, data: opts.data });
    let password: string | undefined;
    if (opts.passwordStdin) {
      const lines = await readStdinLines();
      if (lines.length !== 1)
        throw new BerthError('USAGE', '--password-stdin: give the password as one line on standard input');
      password = lines[0] as string;
    }
    // Loaded here: the database drivers would slow every other command.
    const { resetUserPassword } = await import('../main/password-reset.js');
    const secret = await resetUserPassword(config, user, password);
    if (password === undefined)
      process.stdout.write(`new password for user "${user}": ${secret}\n(shown once)\n`);
    else process.stdout.write(`password of user "${user}" changed\n`);
    return 0;
  });
}
