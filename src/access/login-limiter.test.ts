import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock/clock.js';
import { BoundedSlots } from './bounded-slots.js';
import { LoginLimiter } from './login-limiter.js';

// The window passes by moving a manual clock, never by waiting.
const WINDOW = 300_000;

test('per (account, address): the limit counts reservations in flight, and the window ends it', () => {
  const clock = new ManualClock(0);
  const limiter = new LoginLimiter(3, WINDOW, clock);
  const tickets = [1, 2, 3].map(() => limiter.reserve('victim', '10.0.0.1'));
  assert.ok(tickets.every(Boolean), 'three may be checked at once');
  assert.equal(limiter.reserve('victim', '10.0.0.1'), undefined, 'a fourth in flight is refused');
  assert.ok(limiter.reserve('victim', '10.0.0.2'), 'another address is not affected');
  clock.set(1000);
  for (const ticket of tickets) if (ticket) limiter.settle(ticket, false);
  clock.set(2000);
  assert.equal(limiter.reserve('victim', '10.0.0.1'), undefined, 'three failures: refused');
  clock.set(1000 + WINDOW);
  const later = limiter.reserve('victim', '10.0.0.1');
  assert.ok(later, 'the window passed');
  limiter.release(later);
});

test('a release does not count; a success clears the failures of that account and address', () => {
  const clock = new ManualClock(0);
  const limiter = new LoginLimiter(2, WINDOW, clock);
  const first = limiter.reserve('a', 's');
  assert.ok(first);
  limiter.settle(first, false);
  const overloaded = limiter.reserve('a', 's');
  assert.ok(overloaded);
  limiter.release(overloaded);
  const ok = limiter.reserve('a', 's');
  assert.ok(ok, 'one failure and a released attempt leave room');
  limiter.settle(ok, true);
  clock.advance(1);
  for (let i = 0; i < 2; i++) {
    const t = limiter.reserve('a', 's');
    assert.ok(t, `after the success, attempt ${i} is allowed again`);
    limiter.settle(t, false);
  }
  assert.equal(limiter.reserve('a', 's'), undefined);
});

test('past the address limit: known accounts go on, others are marked for the slow lane', () => {
  const clock = new ManualClock(0);
  const limiter = new LoginLimiter(2, WINDOW, clock);
  const known = limiter.reserve('regular', 'nat');
  assert.ok(known);
  limiter.settle(known, true);
  clock.advance(1);
  for (let i = 0; i < 10; i++) {
    const t = limiter.reserve(`made-up-${i}`, 'nat');
    assert.ok(t && !t.slow, `guess ${i} is under the address limit`);
    limiter.settle(t, false);
  }
  clock.advance(1);
  const regular = limiter.reserve('regular', 'nat');
  const newcomer = limiter.reserve('newcomer', 'nat');
  assert.equal(regular?.slow, false, 'an account known at this address');
  assert.equal(newcomer?.slow, true, 'an account never seen here: checked, but in the slow lane');
  assert.equal(limiter.reserve('newcomer', 'elsewhere')?.slow, false);
});

test('bounded slots: past the slots and the queue, work is turned away without running', async () => {
  const slots = new BoundedSlots(1, 1);
  let release = (): void => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const ran: number[] = [];
  const first = slots.run(async () => {
    ran.push(1);
    await gate;
    return 1;
  });
  const second = slots.run(async () => {
    ran.push(2);
    return 2;
  });
  assert.equal(await slots.run(async () => ran.push(3)), undefined, 'no slot and no queue place');
  release();
  assert.deepEqual([await first, await second], [{ value: 1 }, { value: 2 }]);
  assert.deepEqual(ran, [1, 2]);
  assert.equal(slots.busy, false);
  assert.deepEqual(await slots.run(async () => 4), { value: 4 }, 'free again');
});
