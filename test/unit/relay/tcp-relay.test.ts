import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { relayTcpSpliced } from '../../../src/relay/splice-relay.js';
import { EARLY_CLOSE, relayTcp } from '../../../src/relay/tcp-relay.js';
import { readAll, socketPair } from '../../helpers/socket-pair.js';

for (const [name, relayFn] of [
  ['copy', relayTcp],
  ['splice', relayTcpSpliced],
] as const) {
  /** app ⇄ [client … relay … upstream] ⇄ target */
  async function relayed(idleMs = 0) {
    const [app, client] = await socketPair();
    const [upstream, target] = await socketPair();
    const relay = relayFn(client, upstream, { idleMs });
    target.on('error', () => {});
    return { app, target, relay };
  }

  test(`${name}: half-close: the app shuts its write side and still receives the whole answer`, async () => {
    const { app, target, relay } = await relayed();
    const payload = Buffer.alloc(300_000, 7);
    app.end(payload);
    const received = await readAll(target);
    assert.equal(received.length, payload.length);
    target.end(Buffer.concat([received, received]));
    const echoed = await readAll(app);
    assert.equal(echoed.length, 2 * payload.length);
    const result = await relay.done;
    assert.equal(result.outcome, 'closed');
    assert.equal(result.bytesUp, payload.length);
    assert.equal(result.bytesDown, 2 * payload.length);
  });

  test(`${name}: upstream closing before any data while the app still talks is a reset, not a clean end`, async () => {
    const { app, target, relay } = await relayed();
    app.on('error', () => {});
    target.end();
    const [err] = (await once(app, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNRESET');
    assert.equal((await relay.done).reason, 'SG_ERR_UPSTREAM_CLOSED');
  });

  test(`${name}: an upload-only stream the target ends later is a clean close (iperf3 upload)`, async () => {
    const { app, target, relay } = await relayed();
    // More than a failed connect's request: the target read it all, then ended without a reply.
    const upload = EARLY_CLOSE.maxBytesUp + 100_000;
    let received = 0;
    target.on('data', (c: Buffer) => (received += c.length));
    app.write(Buffer.alloc(upload));
    while (received < upload) await once(target, 'data');
    target.end();
    await once(app, 'end');
    app.end();
    assert.equal((await relay.done).outcome, 'closed');
  });

  test(`${name}: a reset from the target resets the app`, async () => {
    const { app, target, relay } = await relayed();
    app.on('error', () => {});
    app.write('ping');
    await once(target, 'data');
    target.write('pong');
    await once(app, 'data');
    target.resetAndDestroy();
    const [err] = (await once(app, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNRESET');
    const result = await relay.done;
    assert.equal(result.outcome, 'reset');
    assert.equal(result.reason, 'SG_ERR_UPSTREAM_RESET');
  });

  test(`${name}: idle flows are closed after the idle timeout`, async () => {
    const { app, relay } = await relayed(100);
    app.resume();
    const result = await relay.done;
    assert.equal(result.outcome, 'idle');
  });

  test(`${name}: backpressure: a stalled receiver bounds what the relay holds in memory`, async () => {
    const [app, client] = await socketPair();
    const [upstream, target] = await socketPair();
    const relay = relayFn(client, upstream, { idleMs: 0 });
    target.pause();
    const chunk = Buffer.alloc(64 * 1024);
    let written = 0;
    // Write until the app is held back for good (no 'drain' within 300 ms), bounded at 256 MiB.
    while (written < 256 * 1024 * 1024) {
      written += chunk.length;
      if (app.write(chunk)) continue;
      const drained = await Promise.race([once(app, 'drain').then(() => true), new Promise((r) => setTimeout(() => r(false), 300))]);
      if (!drained) break;
    }
    // Four loopback socket buffers (a few MiB each) plus what the relay holds: far below 64 MiB
    // unless the relay reads without waiting for the far side.
    assert.ok(written < 64 * 1024 * 1024, `the app wrote ${written} bytes before it was held back`);
    if (name === 'copy') {
      // Spliced, Node holds nothing (the sockets were handed to the kernel); copied, its stream
      // buffers must stay small.
      const heldByRelay = client.readableLength + upstream.writableLength;
      assert.ok(heldByRelay <= 1024 * 1024, `relay holds ${heldByRelay} bytes`);
    }
    relay.stop();
    assert.equal((await relay.done).outcome, 'stopped');
    app.destroy();
    target.destroy();
  });
}
