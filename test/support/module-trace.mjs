// `node --import tsx --import ./module-trace.mjs …` with BERTH_MODULE_TRACE=FILE writes to FILE the URL of every
// module the process loads: each `import` as it happens; the CommonJS files packages `require` at exit and
// on SIGUSR2 (for a server, which then says "module trace written" on stderr).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const out = process.env.BERTH_MODULE_TRACE;
if (out) {
  register(new URL('./module-trace-hooks.mjs', import.meta.url), { data: { out } });
  const require = createRequire(import.meta.url);
  const writeCommonJs = () =>
    appendFileSync(
      out,
      Object.keys(require.cache)
        .map((path) => `${pathToFileURL(path)}\n`)
        .join(''),
    );
  process.on('exit', writeCommonJs);
  process.on('SIGUSR2', () => {
    writeCommonJs();
    process.stderr.write('module trace written\n');
  });
}
