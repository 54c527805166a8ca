import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { BerthError } from '../oci/errors.js';
import { asGateCommand, CommandFailure, exitStatusOf, GATE_ERROR, onAction } from './exit-status.js';

function program(action: () => Promise<number>): Command {
  const root = new Command().exitOverride();
  onAction(root.command('run'), action);
  return root;
}

test("a command's returned status is the program's, and nothing touches process.exitCode", async () => {
  const before = process.exitCode;
  const refused = program(async () => 1);
  await refused.parseAsync(['run'], { from: 'user' });
  assert.equal(exitStatusOf(refused), 1);
  const passed = program(async () => 0);
  await passed.parseAsync(['run'], { from: 'user' });
  assert.equal(exitStatusOf(passed), 0);
  // Two programs do not share a status.
  assert.equal(exitStatusOf(refused), 1);
  assert.equal(process.exitCode, before);
});

test('a gate command ends an error with status 2 and keeps the error for the message', async () => {
  const error = new BerthError('USAGE', 'bad flag');
  const failure = await asGateCommand(async () => {
    throw error;
  }).catch((e: unknown) => e);
  assert.ok(failure instanceof CommandFailure);
  assert.equal(failure.status, GATE_ERROR);
  assert.equal(failure.cause, error);
  // An interruption's own status is kept.
  const interrupted = new CommandFailure(130, error);
  await assert.rejects(
    asGateCommand(async () => {
      throw interrupted;
    }),
    (e) => e === interrupted,
  );
});
