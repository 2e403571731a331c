// The proxy inbound's BIND and UDP ASSOCIATE end to end, with a small SOCKS5/SOCKS4 client
// (fixtures/socks-commands-client.mjs) in the client namespace: UDP ASSOCIATE in the NAT form
// (0.0.0.0:0 and [::]:0) reaches a "whoami" UDP server directly (it sees the client) and through
// Dante (it sees the proxy), a DNS query through Dante gets dnsmasq's answer, a rejected
// destination and a datagram from a second address of the client namespace are dropped and
// counted in metrics. BIND: the remote in the internet namespace connects to the announced address
// and bytes flow both ways, directly (SOCKS5 and SOCKS4; another host than the expected peer is
// turned away) and through Dante's BIND; a reject rule answers REP 2; an unused BIND times out
// (second reply REP 4) and its port is closed.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startDnsmasq, waitForLog, type Lab } from './lab.js';
import { FIXTURES } from './lab/constants.js';
import { routeClientDirectly } from './route-lab.js';
import { startSocksgate, type Daemon } from './socksgate.js';

const CLIENT = path.join(FIXTURES, 'socks-commands-client.mjs');
const OPEN = '127.0.0.1:1080';
/** A listener whose BIND waits 1 s only. */
const QUICK = '127.0.0.1:1081';
const METRICS = '127.0.0.1:9464';
const WHOAMI = 7101;
const REJECTED_PORT = 7103;
/** A second address of the client namespace: not the client of any association. */
const STRANGER = '192.0.2.12';
/** BIND peers that a rule rejects. */
const BLOCKED_PEER = '198.51.100.99';

let lab: Lab;
let daemon: Daemon;

before(async () => {
  lab = await createLab({});
  await routeClientDirectly(lab);
  await lab.exec('client', 'ip', ['addr', 'add', `${STRANGER}/32`, 'dev', 'lo']);
  await startDnsmasq(lab);
  const dante = await startDante(lab, { port: 1080 });
  for (const host of [lab.addr.internet, lab.addr.extraTarget]) {
    const whoami = lab.spawn('internet', process.execPath, [CLIENT, 'whoami', '--host', host, '--port', String(WHOAMI)], { name: `whoami-${host}` });
    await waitForLog(whoami.logPath, /^ready$/m, 10_000);
  }
  const config = path.join(lab.dir, 'socks-commands.yaml');
  writeFileSync(
    config,
    [
      'upstreams:',
      `  - { name: dante, url: "socks5://${dante.host}:${dante.port}" }`,
      'inbounds:',
      '  socks:',
      `    - { listen: "${OPEN}" }`,
      `    - { listen: "${QUICK}", bind_timeout_s: 1 }`,
      'route:',
      '  final: dante',
      '  rules:',
      `    - { port: [${REJECTED_PORT}], action: reject }`,
      `    - { cidr: [${BLOCKED_PEER}/32], action: reject }`,
      `    - { cidr: [${lab.addr.extraTarget}/32], action: direct }`,
      '',
    ].join('\n'),
  );
  daemon = await startSocksgate(lab, 'client', ['-c', config, '--metrics', METRICS], { name: 'sg-socks-commands' });
});
after(async () => {
  await daemon?.stop();
  await lab?.destroy();
});

interface UdpResult {
  relay: string;
  source: string;
  reply: { from: string; text: string } | null;
}

async function udpAssociate(args: Record<string, string>): Promise<UdpResult> {
  const flags = Object.entries({ proxy: OPEN, request: '0.0.0.0:0', source: '127.0.0.1', payload: 'hello', ...args }).flatMap(([k, v]) => [`--${k}`, v]);
  const r = await lab.exec('client', process.execPath, [CLIENT, 'udp', ...flags], { timeoutMs: 15_000 });
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as UdpResult;
}

async function metrics(): Promise<string> {
  return (await curl(lab, 'client', `http://${METRICS}/metrics`)).body;
}

test('UDP ASSOCIATE, NAT form: direct (the server sees the client), through Dante (it sees the proxy), DNS through Dante', async () => {
  const direct = await udpAssociate({ to: `${lab.addr.extraTarget}:${WHOAMI}` });
  assert.match(direct.relay, /^127\.0\.0\.1:\d+$/);
  assert.deepEqual(direct.reply?.from, `${lab.addr.extraTarget}:${WHOAMI}`, daemon.proc.output());
  assert.match(direct.reply!.text, new RegExp(`^${lab.addr.client}:\\d+ hello$`));

  const dante = await udpAssociate({ to: `${lab.addr.internet}:${WHOAMI}`, request: '[::]:0' });
  assert.equal(dante.reply?.from, `${lab.addr.internet}:${WHOAMI}`, daemon.proc.output());
  assert.match(dante.reply!.text, new RegExp(`^${lab.addr.proxyInternetSide}:\\d+ hello$`));

  const dns = await udpAssociate({ to: `${lab.addr.internet}:53`, dns: 'web.lab.test', request: '127.0.0.1:0' });
  assert.deepEqual(dns.reply, { from: `${lab.addr.internet}:53`, text: lab.addr.internet });
});

test('UDP ASSOCIATE: a datagram from another address of the client namespace, or to a rejected port, is dropped and counted', async () => {
  const stranger = await udpAssociate({ to: `${lab.addr.extraTarget}:${WHOAMI}`, source: STRANGER, wait: '1000' });
  assert.equal(stranger.reply, null);
  const rejected = await udpAssociate({ to: `${lab.addr.extraTarget}:${REJECTED_PORT}`, wait: '1000' });
  assert.equal(rejected.reply, null);
  const text = await metrics();
  assert.match(text, /^socksgate_udp_drops_total\{reason="foreign_source"\} [1-9]/m, text);
  assert.match(text, /^socksgate_udp_drops_total\{reason="rejected"\} [1-9]/m);
  // The associations ended with their control connections: nothing is held upstream.
  assert.match(text, /^socksgate_udp_associations_active 0$/m);
});

/** A BIND from the client namespace; the remote connects (from `from`) to the announced address. */
async function bindExchange(peer: string, opts: { version?: '4' | '5'; from?: string; proxy?: string; connect?: boolean; intruder?: string } = {}) {
  const client = lab.spawn('client', process.execPath, [CLIENT, 'bind', '--proxy', opts.proxy ?? OPEN, '--peer', peer, '--version', opts.version ?? '5'], { name: `bind-${peer}-${opts.version ?? 5}` });
  const first = await waitForLog(client.logPath, /^(BOUND|FAILED) .*$/m, 10_000);
  const bound = /^BOUND (\S+)$/m.exec(first)?.[1];
  let remote: string | undefined;
  let intruder: string | undefined;
  if (bound && opts.intruder) {
    const r = await lab.exec('internet', process.execPath, [CLIENT, 'remote', '--to', bound, '--from', opts.intruder], { timeoutMs: 15_000 });
    intruder = r.stdout.trim();
  }
  if (bound && opts.connect !== false) {
    const r = await lab.exec('internet', process.execPath, [CLIENT, 'remote', '--to', bound, ...(opts.from ? ['--from', opts.from] : [])], { timeoutMs: 15_000 });
    remote = r.stdout.trim();
  }
  await Promise.race([client.exited(), new Promise((r) => setTimeout(r, 10_000))]);
  return { bound, client: client.output().trim(), remote, intruder };
}

test('BIND direct (SOCKS5 and SOCKS4): a local port on the client address, another host is turned away, the peer connects, bytes flow both ways', async () => {
  for (const version of ['5', '4'] as const) {
    const r = await bindExchange(`${lab.addr.extraTarget}:0`, { version, from: lab.addr.extraTarget, intruder: lab.addr.internet });
    assert.match(r.intruder ?? '', /^(CLOSED|ERROR ECONNRESET)$/, r.intruder);
    assert.match(r.bound ?? '', new RegExp(`^${lab.addr.client.replace(/\./g, '\\.')}:\\d+$`), r.client);
    assert.match(r.client, new RegExp(`^PEER ${lab.addr.extraTarget.replace(/\./g, '\\.')}:\\d+$`, 'm'), r.client);
    assert.match(r.client, /^GOT hello from remote$/m);
    assert.equal(r.remote, 'GOT hello from client');
  }
  const line = daemon.lines().find((l) => l.msg === 'flow finished' && l.dst === `${lab.addr.extraTarget}:0`);
  assert.deepEqual([line?.inbound, line?.outbound], ['socks', 'direct'], JSON.stringify(line));
});

test('BIND through Dante: the port is Dante\'s (its external address), the remote connects there, bytes flow both ways', async () => {
  const r = await bindExchange(`${lab.addr.internet}:0`);
  assert.match(r.bound ?? '', new RegExp(`^${lab.addr.proxyInternetSide.replace(/\./g, '\\.')}:\\d+$`), `${r.client}\n${daemon.proc.output()}`);
  assert.match(r.client, new RegExp(`^PEER ${lab.addr.internet.replace(/\./g, '\\.')}:\\d+$`, 'm'), r.client);
  assert.match(r.client, /^GOT hello from remote$/m);
  assert.equal(r.remote, 'GOT hello from client');
  const text = await metrics();
  assert.match(text, /^socksgate_flows_total\{inbound="socks",outbound="dante",outcome="closed"\} [1-9]/m, text);
});

test('BIND to a rejected peer: REP 2; an unused BIND: the second reply REP 4 after bind_timeout_s, the port closed', async () => {
  const rejected = await bindExchange(`${BLOCKED_PEER}:0`);
  assert.equal(rejected.client, 'FAILED 2');
  const started = Date.now();
  const idle = await bindExchange(`${lab.addr.extraTarget}:0`, { proxy: QUICK, connect: false });
  assert.ok(idle.bound, idle.client);
  assert.match(idle.client, /^FAILED 4$/m, idle.client);
  assert.ok(Date.now() - started < 5_000);
  const late = await lab.exec('internet', process.execPath, [CLIENT, 'remote', '--to', idle.bound!, '--from', lab.addr.extraTarget], { timeoutMs: 15_000 });
  assert.equal(late.stdout.trim(), 'ERROR ECONNREFUSED');
  const line = daemon.lines().find((l) => l.msg.startsWith('flow failed') && l.reason === 'SG_ERR_BIND_TIMEOUT');
  assert.equal(line?.inbound, 'socks');
});
