// UDP through a group: microsocks refuses UDP ASSOCIATE, so UDP flows skip it; an association stays
// on its member (Dante A) until that member is killed, then the next datagrams from the same client
// socket go through the next member (Dante B): the daemon keeps the client's mapping.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createLab, signalDante, startDante, startDnsmasq, startMicrosocks, startUdpEcho, waitForLog, type Lab, type SocksHandle } from './lab.js';
import { applyTproxyUdpRules, DAEMON_MARK, startSocksgate, TPROXY_PORT } from './socksgate.js';
import { digShort, finalUdpCounters } from './udp-helpers.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');
const ECHO = 7001;
const CLIENT_PORT = 40_001;

let lab: Lab;
let micro: SocksHandle;
let a: SocksHandle;
let b: SocksHandle;

/** Signals every process of a Dante (it forks workers that carry live sessions): the whole server dies or stalls. */
before(async () => {
  lab = await createLab({ ipv6: true });
  await startDnsmasq(lab);
  await startUdpEcho(lab, { ports: [ECHO] });
  micro = await startMicrosocks(lab, { port: 1079 });
  a = await startDante(lab, { port: 1080 });
  b = await startDante(lab, { port: 1081 });
  await applyTproxyUdpRules(lab, 'client');
});
after(() => lab?.destroy());

function associations(dante: SocksHandle): number {
  return readFileSync(dante.log, 'utf8').split('\n').filter((l) => l.includes('udpassociate [')).length;
}

test('a UDP flow\'s member killed: the next datagrams go through the next member from the same client port', async () => {
  const file = path.join(lab.dir, 'udp-group.yaml');
  writeFileSync(
    file,
    [
      'upstreams:',
      `  - { name: micro, url: "socks5://${micro.host}:${micro.port}" }`,
      `  - { name: a, url: "socks5://${a.host}:${a.port}" }`,
      `  - { name: b, url: "socks5://${b.host}:${b.port}" }`,
      'groups:',
      '  - { name: main, policy: failover, members: [micro, a, b] }',
      'route: { final: main }',
      `tproxy: ["[::]:${TPROXY_PORT}"]`,
      '',
    ].join('\n'),
  );
  const daemon = await startSocksgate(lab, 'client', ['--config', file, '--mark', String(DAEMON_MARK)], { name: 'sg-udp-group' });
  try {
    // One client socket (a fixed source port) sending a line per datagram; the echo comes back to it.
    const client = lab.spawn('client', 'socat', ['-', `UDP4:${lab.addr.internet}:${ECHO},sourceport=${CLIENT_PORT}`], { name: 'socat-udp', stdin: 'pipe' });
    client.stdin!.write('one\n');
    await waitForLog(client.logPath, /^one$/m, 5_000);
    assert.deepEqual([associations(a), associations(b)], [1, 0], 'microsocks refuses UDP: the flow went to a');

    signalDante(a, 'SIGKILL');
    await a.proc.exited();
    const deadline = Date.now() + 5_000;
    for (let i = 0; !readFileSync(client.logPath, 'utf8').includes('two'); i++) {
      assert.ok(Date.now() < deadline, `no echo after the kill:\n${daemon.proc.output()}`);
      client.stdin!.write(`two-${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(associations(b), 1, 'b carries the association now');
    await daemon.waitFor(/UDP association moved from \\"a\\" to \\"b\\"/);
    // A new flow (dig) goes to b straight away: a's UDP is down.
    const dig = await digShort(lab, 'client', lab.addr.internet, 'web.lab.test', 'A');
    assert.equal(dig.code, 0, dig.output);
    client.stdin!.end();
    await lab.kill(client);
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
  const counters = finalUdpCounters(daemon);
  assert.equal(counters.associationsOpened, 2, `one association for the socat client, kept across the move, and one for dig: ${JSON.stringify(counters)}`);
});

test('check.udp: the probe finds which members carry UDP (microsocks refuses it) and status shows it', async () => {
  const file = path.join(lab.dir, 'udp-probe.yaml');
  writeFileSync(
    file,
    [
      'upstreams:',
      `  - { name: micro, url: "socks5://${micro.host}:${micro.port}" }`,
      `  - { name: b, url: "socks5://${b.host}:${b.port}" }`,
      'groups:',
      `  - { name: main, members: [micro, b], check: { interval_s: 1, tcp: "${lab.addr.internet}:53", udp: "${lab.addr.internet}:53" } }`,
      'route: { final: main }',
      '',
    ].join('\n'),
  );
  const control = path.join(lab.dir, 'udp-probe.sock');
  const daemon = await startSocksgate(lab, 'client', ['--config', file, '--mark', String(DAEMON_MARK), '--control', control], { name: 'sg-udp-probe' });
  try {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const shown = (await lab.exec('client', process.execPath, [MAIN, 'status', '--control', control], { timeoutMs: 10_000 })).stdout;
      if (/micro\s+up\s+\S+ ago\s+unsupported/.test(shown) && /\sb\s+up\s+\S+ ago\s+up\s/.test(shown)) break;
      assert.ok(Date.now() < deadline, shown);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    assert.equal(await daemon.stop(), 0, daemon.proc.output());
  }
});
