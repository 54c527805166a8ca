#!/usr/bin/env node
import { main } from './program.js';

// `berth … | head` closes the pipe early: that is the reader's choice, not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

const exitCode = await main(process.argv.slice(2));
// `serve` keeps running after its action returns; only set the code for commands that finished.
if (exitCode !== 0) process.exit(exitCode);
