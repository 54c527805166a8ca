import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../oci/errors.js';
import { isLoopbackHost, parseImageReference } from '../oci/reference.js';
import { describeLocation, parseImageLocation } from './image-location.js';

function fails(raw: string, pattern: RegExp): void {
  assert.throws(
    () => parseImageLocation(raw),
    (error: unknown) => error instanceof BerthError && pattern.test(error.message),
    raw,
  );
}

test('registry references need a host and follow the grammar', () => {
  assert.deepEqual(parseImageReference('registry.example.com/ai-platform/tensorflow-gpu:2.8.0'), {
    host: 'registry.example.com',
    repository: 'ai-platform/tensorflow-gpu',
    tag: '2.8.0',
  });
  assert.deepEqual(parseImageReference(`localhost:5000/a/b@sha256:${'a'.repeat(64)}`), {
    host: 'localhost:5000',
    repository: 'a/b',
    digest: `sha256:${'a'.repeat(64)}`,
  });
  assert.equal(parseImageReference('[::1]:5000/x:y').host, '[::1]:5000');
  assert.throws(() => parseImageReference('team/app:v1'), /not a registry host/);
  assert.throws(() => parseImageReference('host.io/Team/app'), /bad repository name/);
  assert.throws(() => parseImageReference('host.io/team/app:-x'), /bad tag/);
  assert.throws(() => parseImageReference('host.io/team/app@sha256:xyz'), /bad digest/);
});

test('transports as skopeo spells them', () => {
  assert.deepEqual(parseImageLocation('docker-archive:/tmp/a.tar'), {
    transport: 'docker-archive',
    path: '/tmp/a.tar',
  });
  assert.deepEqual(parseImageLocation('docker-archive:a.tar:team/app:v1'), {
    transport: 'docker-archive',
    path: 'a.tar',
    image: { tag: 'team/app:v1' },
  });
  assert.deepEqual(parseImageLocation('docker-archive:a.tar:@1'), {
    transport: 'docker-archive',
    path: 'a.tar',
    image: { index: 1 },
  });
  assert.deepEqual(parseImageLocation('oci:./layout:v1'), { transport: 'oci', path: './layout', tag: 'v1' });
  assert.deepEqual(parseImageLocation('oci-archive:x.tar'), { transport: 'oci-archive', path: 'x.tar' });
  assert.deepEqual(parseImageLocation('docker-daemon:team/app:latest'), {
    transport: 'docker-daemon',
    name: 'team/app:latest',
  });
  const docker = parseImageLocation('docker://reg.io:5000/team/app:v1');
  assert.equal(docker.transport, 'docker');
  assert.deepEqual(parseImageLocation('reg.io:5000/team/app:v1'), docker, 'a bare HOST/... is docker://');
  assert.deepEqual(parseImageLocation('localhost/team/app'), {
    transport: 'docker',
    ref: { host: 'localhost', repository: 'team/app' },
  });
  assert.equal(describeLocation(parseImageLocation('docker-archive:a.tar:@2')), 'docker-archive:a.tar:@2');
  assert.equal(describeLocation(docker), 'docker://reg.io:5000/team/app:v1');
});

test('bad locations say what is wrong', () => {
  fails('foo:bar', /unknown transport "foo"/);
  fails('docker:/x', /expected docker:\/\//);
  fails('docker-archive:', /missing archive path/);
  fails('docker-archive:a.tar:@x', /bad image index/);
  fails('docker-daemon:nametagless', /docker-daemon:NAME:TAG/);
  fails('team/app:v1', /not a registry host/);
});

test('loopback hosts', () => {
  for (const host of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000'])
    assert.ok(isLoopbackHost(host), host);
  for (const host of [
    'registry.example.com',
    '10.0.0.1:5000',
    '[2001:db8::1]:5000',
    'localhost.example.com',
  ]) {
    assert.ok(!isLoopbackHost(host), host);
  }
});
