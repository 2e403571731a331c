import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownedRelay, SpliceOutcome, stopSplice } from '../../../src/native/splice.js';
import { readAll } from '../../helpers/socket-pair.js';
import { splicedRelay } from '../../helpers/spliced-relay.js';

const relay = (cleanups: (() => void)[]) => splicedRelay(cleanups);

test('splice handles: small integers; a handle kept past its relay stops nothing, not the slot’s next relay', async (t) => {
  const cleanups: (() => void)[] = [];
  t.after(() => cleanups.forEach((c) => c()));
  const first = await relay(cleanups);
  assert.ok(Number.isInteger(first.handle) && first.handle >= 0 && first.handle < 2 ** 30, `handle ${first.handle}`);
  stopSplice(first.handle);
  assert.equal((await first.end).outcome, SpliceOutcome.STOPPED);
  stopSplice(first.handle); // long over: a no-op

  // The freed slot is taken again, under another generation.
  const second = await relay(cleanups);
  assert.notEqual(second.handle, first.handle);
  stopSplice(first.handle);
  second.app.end('still relayed');
  assert.equal((await readAll(second.target)).toString(), 'still relayed');
  second.target.end('and back');
  assert.equal((await readAll(second.app)).toString(), 'and back');
  assert.equal((await second.end).outcome, SpliceOutcome.CLOSED);
});

test('splice handles: many relays at once get distinct handles and each end reaches its own owner', async (t) => {
  const cleanups: (() => void)[] = [];
  t.after(() => cleanups.forEach((c) => c()));
  const relays = [];
  for (let i = 0; i < 300; i++) relays.push(await relay(cleanups)); // past the table's first 256 slots
  assert.equal(new Set(relays.map((r) => r.handle)).size, relays.length);
  for (const [i, r] of relays.entries()) {
    if (i % 2 === 0) stopSplice(r.handle);
    else {
      r.app.end();
      r.target.end();
    }
  }
  const outcomes = await Promise.all(relays.map((r) => r.end));
  for (const [i, o] of outcomes.entries()) assert.equal(o.outcome, i % 2 === 0 ? SpliceOutcome.STOPPED : SpliceOutcome.CLOSED, `relay ${i}`);
});

test('splice tokens: a relay that failed to start frees its token; the next relay takes it and its end reaches its own owner', async (t) => {
  const cleanups: (() => void)[] = [];
  t.after(() => cleanups.forEach((c) => c()));
  const live = await relay(cleanups); // holds a token while the others come and go
  const tokens: number[] = [];
  const unheard = { spliceEnded: () => assert.fail('a relay that never started has no end') };
  for (let i = 0; i < 2; i++) {
    assert.throws(
      () =>
        ownedRelay(unheard, (token) => {
          tokens.push(token);
          throw new Error('EMFILE');
        }),
      /EMFILE/,
    );
  }
  assert.equal(tokens[1], tokens[0]);
  const next = await relay(cleanups);
  next.app.end();
  next.target.end();
  assert.equal((await next.end).outcome, SpliceOutcome.CLOSED);
  stopSplice(live.handle);
  assert.equal((await live.end).outcome, SpliceOutcome.STOPPED);
});

test('splice handles: stopSplice refuses what is not a handle', () => {
  assert.throws(() => stopSplice('x' as unknown as number), { code: 'ERR_INVALID_ARG_TYPE' });
  stopSplice(-1);
  stopSplice(2 ** 30 - 1);
});

// Both sides of every relay become ready in the same batch of events: the first event of a relay
// ends it, and the second, still in the batch, must find it ended rather than freed (fd-watch.c).
test('splice: 200 relays whose both sides close at once all end, each once', async (t) => {
  const cleanups: (() => void)[] = [];
  t.after(() => cleanups.forEach((c) => c()));
  const relays = [];
  for (let i = 0; i < 200; i++) relays.push(await relay(cleanups));
  for (const r of relays) {
    r.app.resetAndDestroy();
    r.target.resetAndDestroy();
  }
  const outcomes = await Promise.all(relays.map((r) => r.end));
  assert.equal(outcomes.length, 200);
  for (const o of outcomes) assert.ok(o.outcome === SpliceOutcome.RESET || o.outcome === SpliceOutcome.CLOSED, `outcome ${o.outcome}`);
});
