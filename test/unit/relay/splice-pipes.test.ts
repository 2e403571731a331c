import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { relayTcpSpliced } from '../../../src/relay/splice-relay.js';
import type { Relay } from '../../../src/relay/tcp-relay.js';
import { readAll, socketPair } from '../../helpers/socket-pair.js';

/** PIPE_POOL_MAX in src/native/pipe-pool.c: the pool may keep this many empty pipes for good. */
const PIPE_POOL_MAX = 64;

function pipeFds(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('pipe:')) count++;
    } catch {
      /* the fd readdir itself used, closed since */
    }
  }
  return count;
}

// The load e2e test closed 8,000 relayed connections at once and got EMFILE: every direction that
// had seen its source's FIN kept a pipe until the whole relay ended.
test('splice: a half-closed connection holds no pipe while the other direction stays open', async (t) => {
  const before = pipeFds();
  const relays: { app: Socket; target: Socket; relay: Relay }[] = [];
  t.after(() => {
    for (const { app, target } of relays) {
      app.destroy();
      target.destroy();
    }
  });
  for (let i = 0; i < 150; i++) {
    const [app, client] = await socketPair();
    const [upstream, target] = await socketPair();
    const relay = relayTcpSpliced(client, upstream, { idleMs: 0 });
    app.end('request');
    assert.equal((await readAll(target)).toString(), 'request');
    relays.push({ app, target, relay });
  }
  const held = pipeFds() - before;
  assert.ok(held <= 2 * PIPE_POOL_MAX, `150 half-closed relays hold ${held} pipe fds beyond the pool's ${2 * PIPE_POOL_MAX}`);
  for (const { app, target, relay } of relays) {
    target.end('answer');
    assert.equal((await readAll(app)).toString(), 'answer');
    assert.equal((await relay.done).outcome, 'closed');
    if (!app.closed) await once(app, 'close');
  }
});
