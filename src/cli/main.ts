#!/usr/bin/env node
import { main } from './program.js';

const exitCode = await main(process.argv.slice(2));
// `serve` keeps running after its action returns; only set the code for commands that finished.
if (exitCode !== 0) process.exit(exitCode);
