import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { BerthError, RegistryError } from '../oci/errors.js';
import { registerAdminCommand } from './admin-command.js';
import { registerAdmissionCommand } from './admission-command.js';
import { registerAnalyzeCommand } from './analyze-command.js';
import { registerAuditCommand } from './audit-command.js';
import { registerConfigCommand } from './config-command.js';
import { registerDbCommands } from './db-command.js';
import { registerEventsCommand } from './events-command.js';
import { CommandFailure, exitStatusOf } from './exit-status.js';
import { registerFsckCommand } from './fsck-command.js';
import { registerGcCommand } from './gc-command.js';
import { registerImmutabilityCommand } from './immutability-command.js';
import { registerImportCommand } from './import-command.js';
import { registerInspectCommands } from './inspect-command.js';
import { registerKeyCommand } from './key-command.js';
import { registerLintCommand } from './lint-command.js';
import { registerLoginCommands } from './login-command.js';
import { registerProjectCommand } from './project-command.js';
import { registerPushCommand } from './push-command.js';
import { registerReferrersCommand } from './referrers-command.js';
import { registerReportCommand } from './report-command.js';
import { registerRepositoryCommands } from './repository-commands.js';
import { registerRetentionCommand } from './retention-command.js';
import { registerRobotCommand } from './robot-command.js';
import { registerRoleCommand } from './role-command.js';
import { registerSbomCommand } from './sbom-command.js';
import { registerScanCommand } from './scan-command.js';
import { registerServeCommand } from './serve-command.js';
import { registerSignCommands } from './sign-command.js';
import { registerStorageCommand } from './storage-command.js';
import { registerTrustCommand } from './trust-command.js';
import { registerUserCommand } from './user-command.js';

function packageVersion(): string {
  const file = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('berth')
    .description('Berth: a container image registry and image-import toolkit')
    .version(packageVersion())
    .showHelpAfterError()
    .exitOverride();
  registerServeCommand(program);
  registerConfigCommand(program);
  registerPushCommand(program);
  registerImportCommand(program);
  registerRepositoryCommands(program);
  registerInspectCommands(program);
  registerAnalyzeCommand(program);
  registerLintCommand(program);
  registerScanCommand(program);
  registerSbomCommand(program);
  // Signing in cosign's formats (issue 14).
  registerKeyCommand(program);
  registerSignCommands(program);
  registerReferrersCommand(program);
  registerDbCommands(program);
  registerLoginCommands(program);
  registerUserCommand(program);
  registerRobotCommand(program);
  registerGcCommand(program);
  registerStorageCommand(program);
  registerReportCommand(program);
  registerProjectCommand(program);
  registerRetentionCommand(program);
  registerImmutabilityCommand(program);
  registerAdmissionCommand(program);
  registerTrustCommand(program);
  registerRoleCommand(program);
  registerAuditCommand(program);
  registerEventsCommand(program);
  registerFsckCommand(program);
  registerAdminCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    // Commands that finish with a verdict (analyze, scan, lint) return it without failing.
    return exitStatusOf(program);
  } catch (thrown) {
    if (thrown instanceof CommanderError) return thrown.exitCode;
    // A gate command's errors end with "could not check" (2), an interruption with 130; the rest with 1.
    const status = thrown instanceof CommandFailure ? thrown.status : 1;
    const error = thrown instanceof CommandFailure ? thrown.cause : thrown;
    const message =
      error instanceof BerthError || error instanceof RegistryError
        ? error.message
        : error instanceof Error
          ? `${error.message}`
          : String(error);
    process.stderr.write(`berth: ${message}\n`);
    return status;
  }
}
