import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { tempDir } from '../../test/support/temp.js';
import { BerthError } from '../oci/errors.js';
import { configKeys, configSchema, defaultConfigText, envName, loadConfig, resolvePaths } from './config.js';

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof BerthError);
    assert.equal(error.code, 'CONFIG_INVALID');
    return error.message;
  }
  assert.fail('expected the config to be refused');
}

test('the commented default file says exactly what the schema defaults are', () => {
  assert.deepEqual(configSchema.parse(YAML.parse(defaultConfigText())), configSchema.parse({}));
});

test('defaults: loopback 5000, ./berth-data, sqlite', () => {
  const config = loadConfig({ env: {} });
  assert.equal(config.listen, '127.0.0.1:5000');
  assert.equal(config.data, './berth-data');
  assert.equal(config.metadata.postgres, undefined);
  const paths = resolvePaths(config, '/srv');
  assert.deepEqual(paths, {
    data: '/srv/berth-data',
    storageRoot: '/srv/berth-data/storage',
    sqlite: '/srv/berth-data/metadata.sqlite',
  });
});

test('every key has a BERTH_ variable, and variables win over the file, flags over variables', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'berth.yaml');
  writeFileSync(file, 'listen: 127.0.0.1:6000\nregistry:\n  deletes: true\n  maxManifestSize: 8388608\n');
  assert.ok(configKeys().includes('metadata.postgres.url'));
  assert.equal(envName('registry.maxManifestSize'), 'BERTH_REGISTRY_MAX_MANIFEST_SIZE');
  const config = loadConfig({
    file,
    env: {
      BERTH_LISTEN: '127.0.0.1:7000',
      BERTH_REGISTRY_DELETES: 'false',
      BERTH_METADATA_POSTGRES_URL: 'postgres://u@h:5432/db',
      BERTH_UNRELATED: 'x',
    },
    overrides: { data: '/var/lib/berth' },
  });
  assert.equal(config.listen, '127.0.0.1:7000');
  assert.equal(config.registry.deletes, false);
  assert.equal(config.registry.maxManifestSize, 8388608);
  assert.equal(config.metadata.postgres?.url, 'postgres://u@h:5432/db');
  assert.equal(config.metadata.postgres?.poolSize, 10);
  assert.equal(config.data, '/var/lib/berth');
  assert.equal(
    loadConfig({ env: { BERTH_LISTEN: '127.0.0.1:7000' }, overrides: { listen: '[::1]:8000' } }).listen,
    '[::1]:8000',
  );
});

test('a bad config is refused with a message naming the key', async (t) => {
  const dir = await tempDir(t);
  const write = (text: string): string => {
    const file = join(dir, `c${Math.random()}.yaml`);
    writeFileSync(file, text);
    return file;
  };
  assert.match(
    failure(() => loadConfig({ file: write('listen: nowhere\n'), env: {} })),
    /config key listen/,
  );
  assert.match(
    failure(() => loadConfig({ file: write('registry:\n  deletes: maybe\n'), env: {} })),
    /config key registry\.deletes/,
  );
  assert.match(
    failure(() => loadConfig({ file: write('registry:\n  delete: true\n'), env: {} })),
    /config key registry\.delete in .*: unknown key/,
  );
  assert.match(
    failure(() => loadConfig({ file: write('metadata:\n  postgres:\n    url: mysql://x\n'), env: {} })),
    /config key metadata\.postgres\.url/,
  );
  assert.match(
    failure(() => loadConfig({ env: { BERTH_LOG_LEVEL: 'loud' } })),
    /config key log\.level/,
  );
  assert.match(
    failure(() => loadConfig({ env: { BERTH_LISTEN: '127.0.0.1:99999' } })),
    /config key listen/,
  );
  assert.match(
    failure(() => loadConfig({ file: write('listen: [unclosed\n'), env: {} })),
    /not valid YAML/,
  );
  assert.match(
    failure(() => loadConfig({ file: write('- a\n- b\n'), env: {} })),
    /mapping/,
  );
  assert.match(
    failure(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} })),
    /cannot read/,
  );
});

test('auth and proxy keys: trusted proxies are addresses or CIDRs, from YAML or a comma list; the API audience is its own', () => {
  const parsed = loadConfig({
    env: { BERTH_HTTP_TRUSTED_PROXIES: '10.0.0.5, 10.1.0.0/16,::1' },
  });
  assert.deepEqual(parsed.http.trustedProxies, ['10.0.0.5', '10.1.0.0/16', '::1']);
  assert.deepEqual(loadConfig({ env: {} }).http.trustedProxies, []);
  for (const bad of ['10.0.0.0/33', 'proxy.example', '10.0.0.0/8/1', 'fd00::/129']) {
    assert.match(
      failure(() => loadConfig({ env: {}, overrides: { 'http.trustedProxies': [bad] } })),
      /config key http\.trustedProxies\.0: an IP address or CIDR/,
      bad,
    );
  }
  // One audience for both would make a registry token open the admin API again (issue 9, finding 1).
  assert.match(
    failure(() => loadConfig({ env: {}, overrides: { 'auth.token.apiService': 'berth-registry' } })),
    /config key auth\.token\.apiService: apiService must differ from service/,
  );
  assert.deepEqual(loadConfig({ env: {} }).auth.loginChecks, { concurrency: 2, queue: 16 });
});
