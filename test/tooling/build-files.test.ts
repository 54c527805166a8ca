// What `npm run build` compiles into dist/ (tsconfig.build.json): the code that ships, and no test code. A shared
// test suite without the `.test-suite.ts` name would otherwise be built and published with the package.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The files tsc compiles for tsconfig.build.json, relative to the repository. */
function buildFiles(): string[] {
  const path = join(ROOT, 'tsconfig.build.json');
  const read = ts.readConfigFile(path, ts.sys.readFile);
  assert.equal(read.error, undefined);
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, path);
  assert.deepEqual(parsed.errors, []);
  return parsed.fileNames.map((file) => relative(ROOT, file));
}

test('the build compiles no test code into dist/', () => {
  const files = buildFiles();
  assert.ok(files.includes('src/main/server.ts'), 'the build has the server');
  assert.deepEqual(
    files.filter((file) => /\.test(-suite)?\.ts$/.test(file)),
    [],
  );
  // Whatever its name, a file that imports node:test is test code.
  const testCode = files.filter((file) =>
    /from ['"](node:)?test['"]/.test(readFileSync(join(ROOT, file), 'utf8')),
  );
  assert.deepEqual(testCode, []);
});
