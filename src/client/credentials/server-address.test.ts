import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BerthError } from '../../oci/errors.js';
import {
  DOCKER_HUB_SERVER_ADDRESS,
  dockerServerAddress,
  isDockerHub,
  parseRegistryHost,
  registryHost,
} from './server-address.js';

describe('registry host normalization', () => {
  test('keys as config files hold them compare by host', () => {
    const cases: [string, string][] = [
      ['https://index.docker.io/v1/', 'docker.io'],
      ['index.docker.io', 'docker.io'],
      ['registry-1.docker.io', 'docker.io'],
      ['docker.io', 'docker.io'],
      ['https://registry-1.docker.io/v2/', 'docker.io'],
      ['registry.example.com', 'registry.example.com'],
      ['registry.example.com:5000', 'registry.example.com:5000'],
      ['http://host:5000', 'host:5000'],
      ['http://host:5000/', 'host:5000'],
      ['https://registry.example.com/v1/', 'registry.example.com'],
      ['registry.example.com/team/app', 'registry.example.com'],
      ['HTTPS://Registry.Example.COM:443/v2/', 'registry.example.com:443'],
      ['[::1]:5000', '[::1]:5000'],
      ['  localhost:5000  ', 'localhost:5000'],
      ['', ''],
    ];
    for (const [key, host] of cases) assert.equal(registryHost(key), host, key);
  });

  test('Docker writes Docker Hub under its v1 URL and every other host bare', () => {
    for (const hub of ['docker.io', 'index.docker.io', 'registry-1.docker.io', DOCKER_HUB_SERVER_ADDRESS]) {
      assert.equal(dockerServerAddress(hub), 'https://index.docker.io/v1/', hub);
      assert.ok(isDockerHub(hub));
    }
    assert.equal(dockerServerAddress('https://Registry.example.com:5000/v2/'), 'registry.example.com:5000');
    assert.equal(isDockerHub('quay.io'), false);
  });

  test('an address without a host is REGISTRY_HOST_INVALID', () => {
    for (const bad of ['', '   ', 'https://', 'https:///v2/']) {
      assert.throws(
        () => parseRegistryHost(bad),
        (e: unknown) => e instanceof BerthError && e.code === 'REGISTRY_HOST_INVALID',
        JSON.stringify(bad),
      );
    }
    assert.equal(parseRegistryHost('docker.io'), 'docker.io');
  });
});
