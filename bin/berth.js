#!/usr/bin/env node
// The published entry point: runs the compiled CLI (npm ci / npm install build it through `prepare`).
import { fileURLToPath } from 'node:url';

try {
  await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    const root = fileURLToPath(new URL('..', import.meta.url));
    process.stderr.write(`berth: the compiled CLI (dist/) is missing: run \`npm run build\` in ${root}\n`);
    process.exit(1);
  }
  throw error;
}
