// Preloaded (node --require) by the zstd push test: resolving `zstd-napi` fails as it does on a machine where
// the optional package was not installed, so the CLI's answer to that can be checked here.
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'zstd-napi') {
    const error = new Error("Cannot find module 'zstd-napi'");
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolve.call(this, request, ...rest);
};
