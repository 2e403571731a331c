import assert from 'node:assert/strict';
import net from 'node:net';
import { mock, test } from 'node:test';
import { pino } from 'pino';
import { addrOf } from '../../../src/core/addr.js';
import { LogThrottle } from '../../../src/inbound/log-throttle.js';
import { LoopGuard } from '../../../src/inbound/loop-guard.js';
import { redirectInbound } from '../../../src/inbound/redirect-tcp.js';
import { startTcpInbound } from '../../../src/inbound/tcp-inbound.js';
import { tproxyInbound } from '../../../src/inbound/tproxy-tcp.js';
import { closedPort } from '../../helpers/native-accept.js';
import type { Router } from '../../../src/adapter/router.js';

test('LogThrottle: one line per key per interval, then a summary with the count of the rest', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const summaries: string[] = [];
    const throttle = new LogThrottle(10_000, (key, count) => summaries.push(`${key} ${count}`));
    assert.equal(throttle.allow('loop'), true);
    for (let i = 0; i < 500; i++) assert.equal(throttle.allow('loop'), false);
    assert.equal(throttle.allow('no-dst'), true, 'each reason has its own interval');
    mock.timers.tick(9_999);
    assert.deepEqual(summaries, []);
    mock.timers.tick(1);
    assert.deepEqual(summaries, ['loop 500']);
    // The flood goes on: still nothing but one summary per interval.
    for (let i = 0; i < 20; i++) assert.equal(throttle.allow('loop'), false);
    mock.timers.tick(10_000);
    assert.deepEqual(summaries, ['loop 500', 'loop 20']);
    // Quiet for a whole interval: the next one is written at once again.
    mock.timers.tick(10_000);
    assert.equal(throttle.allow('loop'), true);
    assert.equal(throttle.allow('no-dst'), true);
  } finally {
    mock.timers.reset();
  }
});

/** A logger whose JSON lines land in `lines`. */
function capturingLogger() {
  const lines: { msg: string; reason?: string; suppressed?: number }[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** `count` clients connect one after another; each is reset by the inbound. */
async function connectAll(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const client = net.connect({ port, host: '127.0.0.1' });
    await new Promise((resolve) => client.on('error', () => {}).on('close', resolve));
  }
}

/** A router no refused connection may reach. */
const refusingRouter: Router = {
  decide: () => assert.fail('a refused connection was decided'),
  routeTcp: () => assert.fail('a refused connection became a flow'),
  routeDatagram: () => assert.fail('not UDP'),
};

for (const [name, inbound, reason] of [
  ['a connection to the listener itself (a loop)', tproxyInbound, 'SG_ERR_LOOP'],
  ['a connection no rule diverted', redirectInbound, undefined],
] as const) {
  test(`tcp inbound: a flood of refusals, ${name}, writes one warn line`, { timeout: 20_000 }, async () => {
    const port = await closedPort();
    const at = addrOf('127.0.0.1', port);
    const { log, lines } = capturingLogger();
    // TPROXY's destination of a direct connection is the listener's own address: a loop.
    const acceptor = startTcpInbound({ ...inbound, transparent: false }, at, { guard: new LoopGuard([at], []), log, router: refusingRouter });
    try {
      await connectAll(port, 40);
    } finally {
      acceptor.close();
    }
    const refused = lines.filter((l) => l.msg.startsWith('refused'));
    assert.equal(refused.length, 1, JSON.stringify(refused));
    if (reason) assert.equal(refused[0]?.reason, reason);
  });
}
