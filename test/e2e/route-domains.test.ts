// Domain rules end to end: the name comes from the fake-IP mapping (curl by name after socksgate's
// DNS answered a pool address), from socksgate's own real answer to the client (a name fake-IP
// excludes), or from the sniffed HTTP Host (curl to an IP); either way a `domain_suffix` rule sends
// the flow to a second Dante and a `domain` rule resets it.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startDnsmasq, startNginx, type Lab, type SocksHandle } from './lab.js';
import { addTargets, notResetAtOnce, withFlowLine } from './route-lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';

const DNS = '127.0.0.53';
const POOL_V4 = /^198\.1[89]\.\d+\.\d+$/;
/** Answered by dnsmasq; no namespace resolves it otherwise, and the reject rule keeps it from Dante. */
const BLOCKED = 'blocked.lab.test';
/** Excluded from fake-IP, so socksgate's DNS answers it with its real address (on the internet namespace's lo). */
const REAL = 'real.alt.lab.test';
const REAL_ADDRESS = '203.0.113.20';

let lab: Lab;
let dante: SocksHandle;
let second: SocksHandle;
let daemon: Daemon;

before(async () => {
  lab = await createLab();
  await startNginx(lab);
  await startDnsmasq(lab, { records: { [BLOCKED]: [lab.addr.internet], [REAL]: [REAL_ADDRESS] } });
  await addTargets(lab, [REAL_ADDRESS]);
  dante = await startDante(lab, { port: 1080 });
  second = await startDante(lab, { port: 1081 });
  await applyRedirectRules(lab, 'client');
  // Pool addresses need a route for connect() to reach the REDIRECT rule; they never leave the client.
  await lab.exec('client', 'ip', ['route', 'add', '198.18.0.0/15', 'via', lab.addr.proxyClientSide]);
  writeFileSync(lab.resolvConfPath('client'), `nameserver ${DNS}\noptions timeout:2 attempts:1\n`);
  const config = path.join(lab.dir, 'route-domains.yaml');
  writeFileSync(
    config,
    [
      'upstreams:',
      `  - { name: dante, url: "socks5://${dante.host}:${dante.port}" }`,
      `  - { name: second, url: "socks5://${second.host}:${second.port}" }`,
      `dns: { listen: "${DNS}:53", upstreams: ["tcp://${lab.addr.internet}:53"], fake_ip: { enabled: true, exclude: [${REAL}] } }`,
      'sniff: { enabled: true }',
      'route:',
      '  final: dante',
      '  rules:',
      `    - { domain: [${BLOCKED}], action: reject }`,
      '    - { domain_suffix: [alt.lab.test], upstream: second }',
      '',
    ].join('\n'),
  );
  daemon = await startSocksgate(lab, 'client', ['-c', config, '--mark', String(DAEMON_MARK), '--control', 'off'], { name: 'sg-route-domains' });
});
after(async () => {
  await daemon?.stop();
  await lab?.destroy();
});

/** Lines of a Dante's log about connections to address:port (it logs each CONNECT and its end). */
function reached(server: SocksHandle, address: string, port = 80): number {
  return readFileSync(server.log, 'utf8').split('\n').filter((line) => line.includes(`${address}.${port}`)).length;
}

async function fakeAddress(name: string): Promise<string> {
  const r = await lab.exec('client', 'dig', [`@${DNS}`, '+time=5', '+tries=1', '+short', name], { timeoutMs: 15_000 });
  const address = r.stdout.trim();
  assert.match(address, POOL_V4, `${name} is answered from the fake-IP pool:\n${daemon.proc.output()}`);
  return address;
}

test('fake-IP: the name behind a pool address decides — a domain_suffix rule picks the second Dante, a domain rule resets', async () => {
  const secondBefore = reached(second, lab.addr.extraTarget);
  const alt = await withFlowLine(daemon, `${await fakeAddress('alt.lab.test')}:80`, () => curl(lab, 'client', 'http://alt.lab.test/ip'));
  assert.equal(alt.result.code, 0, `${alt.result.stderr}\n${daemon.proc.output()}`);
  assert.equal(alt.result.body.trim(), lab.addr.proxyInternetSide);
  assert.equal(alt.line.outbound, 'second');
  assert.equal(alt.line.rule, 'domain_suffix=[alt.lab.test] → second');
  assert.ok(reached(second, lab.addr.extraTarget) > secondBefore, 'the second Dante CONNECTed to alt.lab.test');
  assert.equal(reached(dante, lab.addr.extraTarget), 0, 'the first Dante was not asked');

  const danteBefore = reached(dante, lab.addr.internet);
  const web = await withFlowLine(daemon, `${await fakeAddress('web.lab.test')}:80`, () => curl(lab, 'client', 'http://web.lab.test/ip'));
  assert.equal(web.result.code, 0, web.result.stderr);
  assert.equal(web.line.rule, 'final → dante');
  assert.ok(reached(dante, lab.addr.internet) > danteBefore, 'a name no rule matches goes the final way');

  const blocked = await withFlowLine(daemon, `${await fakeAddress(BLOCKED)}:80`, () => notResetAtOnce(lab, `http://${BLOCKED}/ip`));
  assert.equal(blocked.result, undefined, daemon.proc.output());
  assert.equal(blocked.line.outbound, 'reject');
  assert.equal(blocked.line.rule, `domain=[${BLOCKED}] → reject`);
});

test("the resolver's own answer: a flow to the real address socksgate answered this client for one name is decided by that name", async () => {
  const r = await lab.exec('client', 'dig', [`@${DNS}`, '+time=5', '+tries=1', '+short', REAL], { timeoutMs: 15_000 });
  assert.equal(r.stdout.trim(), REAL_ADDRESS, `${REAL} is answered with its real address:\n${daemon.proc.output()}`);
  const secondBefore = reached(second, REAL_ADDRESS);
  // By address, with no Host header naming it: only the answer can name this flow.
  const named = await withFlowLine(daemon, `${REAL_ADDRESS}:80`, () => curl(lab, 'client', `http://${REAL_ADDRESS}/ip`));
  assert.equal(named.result.code, 0, `${named.result.stderr}\n${daemon.proc.output()}`);
  assert.equal(named.line.outbound, 'second');
  assert.equal(named.line.rule, 'domain_suffix=[alt.lab.test] → second');
  // A flow's line names a target only when it differs from the address the client connected to.
  assert.equal(named.line.target, undefined, 'the address the client chose goes upstream, not the name');
  assert.ok(reached(second, REAL_ADDRESS) > secondBefore, 'the second Dante CONNECTed to it');
});

test('sniffing: the HTTP Host of a flow to an IP decides — a domain_suffix rule picks the second Dante, a domain rule resets', async () => {
  const dst = `${lab.addr.internet}:80`;
  const url = `http://${lab.addr.internet}/small.txt`;
  const secondBefore = reached(second, lab.addr.extraTarget);
  const hosted = await withFlowLine(daemon, dst, () => curl(lab, 'client', url, ['-H', 'Host: alt.lab.test']));
  assert.equal(hosted.result.code, 0, `${hosted.result.stderr}\n${daemon.proc.output()}`);
  assert.equal(hosted.line.outbound, 'second');
  assert.equal(hosted.line.rule, 'domain_suffix=[alt.lab.test] → second');
  assert.equal(hosted.line.target, 'alt.lab.test:80', 'the sniffed name goes upstream');
  assert.ok(reached(second, lab.addr.extraTarget) > secondBefore, 'the second Dante CONNECTed to alt.lab.test');

  const blocked = await withFlowLine(daemon, dst, () => notResetAtOnce(lab, url, ['-H', `Host: ${BLOCKED}`]));
  assert.equal(blocked.result, undefined, daemon.proc.output());
  assert.equal(blocked.line.outbound, 'reject');
  assert.equal(blocked.line.rule, `domain=[${BLOCKED}] → reject`);

  const plain = await withFlowLine(daemon, dst, () => curl(lab, 'client', url));
  assert.equal(plain.result.code, 0, plain.result.stderr);
  assert.equal(plain.line.rule, 'final → dante', 'the Host of a bare IP matches no domain rule');
});
