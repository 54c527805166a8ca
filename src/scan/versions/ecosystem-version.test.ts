import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ecosystemBase, packageNameKey, versionSchemeFor } from './ecosystem-version.js';

describe('ecosystem version schemes', () => {
  test('each OSV ecosystem gets its own ordering', () => {
    const cases: [string, string][] = [
      ['Debian', 'dpkg'],
      ['Debian:12', 'dpkg'],
      ['Ubuntu:22.04:LTS', 'dpkg'],
      ['Ubuntu:Pro:18.04:LTS', 'dpkg'],
      ['Alpine:v3.20', 'apk'],
      ['Wolfi', 'apk'],
      ['Red Hat:enterprise_linux:9::baseos', 'rpm'],
      ['Rocky Linux:9', 'rpm'],
      ['AlmaLinux:8', 'rpm'],
      ['openSUSE:Leap 15.5', 'rpm'],
      ['SUSE:Linux Enterprise Server 15 SP5', 'rpm'],
      ['npm', 'semver'],
      ['Go', 'semver'],
      ['crates.io', 'semver'],
      ['PyPI', 'pep440'],
    ];
    for (const [ecosystem, scheme] of cases)
      assert.equal(versionSchemeFor(ecosystem)?.name, scheme, ecosystem);
  });

  test('unknown ecosystems are said to be unknown, not guessed', () => {
    for (const ecosystem of ['Maven', 'NuGet', 'RubyGems', 'Packagist', 'Fedora', 'debian', 'Linux', ''])
      assert.equal(versionSchemeFor(ecosystem), undefined, ecosystem);
  });

  test('the schemes really order by their rules', () => {
    const deb = versionSchemeFor('Debian:12');
    assert.ok(deb && deb.compare('1.0~rc1', '1.0') < 0);
    const apk = versionSchemeFor('Alpine:v3.20');
    assert.ok(apk && apk.compare('1.0_rc1', '1.0') < 0);
    const rpm = versionSchemeFor('Rocky Linux:9');
    assert.ok(rpm && rpm.compare('1.0^git1', '1.0') > 0);
    const npm = versionSchemeFor('npm');
    assert.ok(npm && npm.compare('1.0.0-rc.1', '1.0.0') < 0 && npm.compare('1.2.0', '1.10.0') < 0);
    const go = versionSchemeFor('Go');
    assert.ok(go && go.compare('v1.2.3', '1.2.4') < 0 && go.isValid('v0.0.0-20210101000000-abcdef123456'));
    assert.ok(go.compare('go1.22.5', '1.22.4') > 0);
    const pypi = versionSchemeFor('PyPI');
    assert.ok(pypi && pypi.compare('1.0rc1', '1.0') < 0 && pypi.compare('1.0.post1', '1.0') > 0);
    assert.equal(pypi.compare('1.0', '1.0.0'), 0);
    assert.ok(pypi.compare('1!0.1', '2.0') > 0);
    assert.ok(pypi.compare('23.2.1', '23.3') < 0);
  });

  test('invalid versions are flagged and still compare without throwing', () => {
    const npm = versionSchemeFor('npm');
    assert.ok(npm && !npm.isValid('not a version') && npm.isValid('7.8.6') && !npm.isValid('1.2'));
    assert.equal(typeof npm.compare('not a version', '1.0.0'), 'number');
    const pypi = versionSchemeFor('PyPI');
    assert.ok(pypi && !pypi.isValid('one point oh'));
    assert.equal(typeof pypi.compare('one point oh', '1.0'), 'number');
  });

  test('ecosystem base and PyPI name normalization (PEP 503)', () => {
    assert.equal(ecosystemBase('Ubuntu:22.04:LTS'), 'Ubuntu');
    assert.equal(ecosystemBase('npm'), 'npm');
    assert.equal(packageNameKey('PyPI', 'Foo__Bar.baz'), 'foo-bar-baz');
    assert.equal(packageNameKey('npm', 'Foo_Bar'), 'Foo_Bar');
  });
});
