import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { advisoryDbLocation, berthDataHome } from './advisory-db-location.js';

describe('advisory database location', () => {
  test('the user data folder: $XDG_DATA_HOME/berth, else ~/.local/share/berth (a relative XDG_DATA_HOME is ignored)', () => {
    assert.equal(berthDataHome({ XDG_DATA_HOME: '/x', HOME: '/h' }), '/x/berth');
    assert.equal(berthDataHome({ HOME: '/h' }), '/h/.local/share/berth');
    assert.equal(berthDataHome({ XDG_DATA_HOME: 'rel', HOME: '/h' }), '/h/.local/share/berth');
  });

  test('the CLI default does not depend on the working folder', () => {
    const env = { HOME: '/home/u' };
    for (const cwd of ['/', '/srv/project'])
      assert.equal(advisoryDbLocation({}, env, cwd), '/home/u/.local/share/berth/advisories/osv.sqlite');
  });

  test('--db, then BERTH_ADVISORY_DB, then a named server data folder', () => {
    const env = { HOME: '/home/u', BERTH_ADVISORY_DB: 'env.sqlite' };
    const serverData = (): string => '/var/lib/berth';
    assert.equal(advisoryDbLocation({ db: '/tmp/x.sqlite', serverData }, env, '/w'), '/tmp/x.sqlite');
    assert.equal(advisoryDbLocation({ serverData }, env, '/w'), '/w/env.sqlite');
    assert.equal(
      advisoryDbLocation({ serverData }, { HOME: '/h' }, '/w'),
      '/var/lib/berth/advisories/osv.sqlite',
    );
  });
});
