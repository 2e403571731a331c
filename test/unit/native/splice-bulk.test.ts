import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SpliceOutcome } from '../../../src/native/splice.js';
import { readAll } from '../../helpers/socket-pair.js';
import { splicedRelay } from '../../helpers/spliced-relay.js';

const MiB = 1 << 20;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** One relay carrying `up` bytes to the target and `down` back at once: both arrive intact and counted. */
async function bulkBothWays(cleanups: (() => void)[], up: Buffer, down: Buffer): Promise<void> {
  const r = await splicedRelay(cleanups);
  const atTarget = readAll(r.target);
  const atApp = readAll(r.app);
  r.app.end(up);
  r.target.end(down);
  const [gotUp, gotDown, result] = await Promise.all([atTarget, atApp, r.end]);
  assert.equal(sha(gotUp), sha(up), 'the upload arrives intact');
  assert.equal(sha(gotDown), sha(down), 'the download arrives intact');
  assert.deepEqual([result.outcome, result.bytesUp, result.bytesDown], [SpliceOutcome.CLOSED, up.length, down.length]);
}

// Relays whose uploads fill their pipes (grown to 1 MiB, pipe-pool.h), then as many again taking
// the pooled pipes of both sizes: every byte arrives whichever pipe carried it.
test('splice: 20 relays moving MiBs both ways at once, twice over, every byte intact', async (t) => {
  const cleanups: (() => void)[] = [];
  t.after(() => cleanups.forEach((c) => c()));
  const up = randomBytes(3 * MiB);
  const down = randomBytes(MiB + 12345);
  for (let wave = 0; wave < 2; wave++) {
    await Promise.all(Array.from({ length: 20 }, () => bulkBothWays(cleanups, up, down)));
  }
});
