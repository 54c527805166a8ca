#!/usr/bin/env node
// The published entry point: runs the compiled CLI (npm ci / npm install build it through `prepare`).
try {
  await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    process.stderr.write('berth: the compiled CLI is missing; run `npm run build` first\n');
    process.exit(1);
  }
  throw error;
}
