import { type Command, CommanderError } from 'commander';

/**
 * Exit statuses of the quality-gate commands (scan, sbom, lint, fsck), as CI pipelines read them:
 * 0 the image passed, 1 the gate refused it, 2 it could not be checked (bad input, bad policy, no database).
 */
export const GATE_REFUSED = 1;
export const GATE_ERROR = 2;
/** 128 + SIGINT, as shells report a command stopped by Ctrl-C. */
export const INTERRUPTED = 130;

/** A command's failure with the exit status it ends with; `main()` prints the cause's one line. */
export class CommandFailure extends Error {
  constructor(
    readonly status: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

// The status of the last action run under each program (a program object per `main()` call, so tests that
// run several in one process do not share one).
const statuses = new WeakMap<Command, number>();

function programOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

/**
 * Sets a command's action: what it returns is the exit status `main()` returns. Nothing here or in a
 * command sets `process.exitCode`; only the top-level runner does.
 */
// biome-ignore lint/suspicious/noExplicitAny: commander passes each command its own arguments
export function onAction<A extends any[]>(
  command: Command,
  action: (...args: A) => Promise<number>,
): Command {
  return command.action(async (...args: unknown[]) => {
    statuses.set(programOf(command), await action(...(args as A)));
  });
}

/** The status the program's last action returned (0 when it ran none, as for `--help`). */
export function exitStatusOf(program: Command): number {
  return statuses.get(program) ?? 0;
}

/** Runs a gate command's work so that an error ends it with status 2, "could not check". */
export async function asGateCommand(work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (error) {
    // Commander's own errors (a missing argument) keep their status.
    if (error instanceof CommandFailure || error instanceof CommanderError) throw error;
    throw new CommandFailure(GATE_ERROR, error);
  }
}
