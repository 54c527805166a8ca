// What the README and examples/ promise a new user, checked against the repository (issue 17).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadAdmissionPolicy } from '../../src/policy/admission-policy.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function markdownFiles(): Promise<string[]> {
  const docs = (await readdir(join(ROOT, 'docs'))).filter((name) => name.endsWith('.md'));
  return ['README.md', ...docs.map((name) => join('docs', name))];
}

describe('README and docs', () => {
  test('every relative link points at a file inside the repository (README linked ../shared/DESIGN.md)', async () => {
    for (const file of await markdownFiles()) {
      const text = await readFile(join(ROOT, file), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (!target || /^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
        const path = resolve(ROOT, dirname(file), target.replace(/#.*$/, ''));
        const inside = relative(ROOT, path);
        assert.ok(!inside.startsWith('..') && !inside.startsWith('/'), `${file} links outside: ${target}`);
        assert.ok(existsSync(path), `${file} links to a missing file: ${target}`);
      }
      assert.doesNotMatch(text, /\/work\/|\.\.\/shared\//, `${file} names a path outside the repository`);
    }
  });

  test('the commands at the top exist, and the README says which test command is which', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const scripts = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).scripts as Record<
      string,
      string
    >;
    assert.match(readme, /^npm ci && npm start/m);
    assert.match(readme, /^npm test\b/m);
    assert.match(readme, /npm run test:full/);
    assert.match(readme, /apt-get install -y skopeo podman buildah umoci/);
    assert.match(readme, /npx berth/);
    assert.match(readme, /curl -s -u admin:PASSWORD http:\/\/127\.0\.0\.1:5000\/v2\/_catalog/);
    for (const name of ['start', 'test', 'test:full'])
      assert.ok(scripts[name], `package.json has no ${name}`);
  });
});

describe('example policies', () => {
  test('their ignores are still valid on 2027-12-07 (they had expired in 2026)', async () => {
    const examples = join(ROOT, 'examples');
    const files = (await readdir(examples)).filter((name) => /^policy.*\.ya?ml$/.test(name));
    assert.ok(files.length >= 2);
    let ignores = 0;
    for (const name of files) {
      const policy = await loadAdmissionPolicy(join(examples, name));
      for (const ignore of policy.vulnerabilities?.ignore ?? []) {
        ignores++;
        assert.ok(
          ignore.expiresAt > Date.parse('2027-12-07T12:00:00Z'),
          `${name}: ${ignore.id} expires too soon`,
        );
      }
    }
    assert.ok(ignores > 0, 'the examples show an ignore');
  });
});
