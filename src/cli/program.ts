import { Command, CommanderError } from 'commander';
import { BerthError, RegistryError } from '../oci/errors.js';
import { registerConfigCommand } from './config-command.js';
import { registerServeCommand } from './serve-command.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('berth')
    .description('Berth: a container image registry and image-import toolkit')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerServeCommand(program);
  registerConfigCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const message =
      error instanceof BerthError || error instanceof RegistryError
        ? error.message
        : error instanceof Error
          ? `${error.message}`
          : String(error);
    process.stderr.write(`berth: ${message}\n`);
    return 1;
  }
}
