import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SpliceOutcome, stopSplice } from '../../../src/native/splice.js';
import { splicedRelay } from '../../helpers/spliced-relay.js';

// Every relay's idle timeout runs on one shared timer (deadlines.c): these check that each still
// ends on its own timeout, in order, that activity postpones it and that a relay ended early
// leaves the others waiting.

async function relay(cleanups: (() => void)[], idleMs: number, label: string, ends: string[]) {
  const r = await splicedRelay(cleanups, idleMs, () => ends.push(label));
  r.target.resume();
  return r;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('idle timeouts on one timer: each relay ends idle on its own timeout, shortest first; one stopped early leaves the rest waiting', async (t) => {
  const cleanups: (() => void)[] = [];
  t.after(() => cleanups.forEach((c) => c()));
  const ends: string[] = [];
  const long = await relay(cleanups, 1_500, 'long', ends);
  const stopped = await relay(cleanups, 300, 'stopped', ends);
  const middle = await relay(cleanups, 800, 'middle', ends);
  const short = await relay(cleanups, 150, 'short', ends);
  stopSplice(stopped.handle);
  const outcomes = await Promise.all([long.end, stopped.end, middle.end, short.end]);
  assert.deepEqual(outcomes.map((o) => o.outcome), [SpliceOutcome.IDLE, SpliceOutcome.STOPPED, SpliceOutcome.IDLE, SpliceOutcome.IDLE]);
  assert.deepEqual(ends, ['stopped', 'short', 'middle', 'long']);
});

test('idle timeouts on one timer: traffic postpones the timeout, which comes once it stops', async (t) => {
  const cleanups: (() => void)[] = [];
  t.after(() => cleanups.forEach((c) => c()));
  const ends: string[] = [];
  const busy = await relay(cleanups, 1_000, 'busy', ends);
  for (let i = 0; i < 15; i++) {
    busy.app.write('x');
    await sleep(100);
  }
  assert.deepEqual(ends, [], 'still relaying after 1.5 s of traffic every 100 ms');
  const result = await busy.end;
  assert.equal(result.outcome, SpliceOutcome.IDLE);
  assert.equal(result.bytesUp, 15);
});
