// Split DNS (dns.rules) with real programs: a LAN resolver (dnsmasq in the proxy namespace on
// 192.0.2.1, which the client reaches without a proxy) answers the corp names straight from the
// client namespace, the internet's dnsmasq answers the rest through Dante, and blocked names are
// answered NXDOMAIN by socksgate itself. Each dnsmasq logs every query with its source address.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createLab, startDante, startDnsmasq, startEcho, type DnsmasqHandle, type Lab, type SocksHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';

const DNS = '127.0.0.53';
const ECHO_PORT = 7007;
const POOL_V4 = /^198\.1[89]\.\d+\.\d+$/;

let lab: Lab;
let internetDns: DnsmasqHandle;
let lanDns: DnsmasqHandle;
let dante: SocksHandle;
let blockList: string;

before(async () => {
  lab = await createLab();
  // Both would answer the blocked and the corp names: whichever was asked shows in its log.
  const records = { 'blocked.lab.test': ['203.0.113.66'], 'corp.lab.test': ['203.0.113.67'] };
  internetDns = await startDnsmasq(lab, { records });
  lanDns = await startDnsmasq(lab, { ns: 'proxy', hosts: [lab.addr.proxyClientSide], records: { ...records, 'corp.lab.test': [lab.addr.proxyClientSide] } });
  dante = await startDante(lab, { port: 1080 });
  await startEcho(lab, { port: ECHO_PORT, ns: 'proxy', host: lab.addr.proxyClientSide });
  await applyRedirectRules(lab, 'client');
  // Pool addresses need a route for connect() to reach the REDIRECT rule; they never leave the client.
  await lab.exec('client', 'ip', ['route', 'add', '198.18.0.0/15', 'via', lab.addr.proxyClientSide]);
  writeFileSync(lab.resolvConfPath('client'), `nameserver ${DNS}\noptions timeout:2 attempts:1\n`);
  blockList = path.join(lab.dir, 'block.txt');
  writeFileSync(blockList, '# answered NXDOMAIN\nblocked.lab.test\nkeyword:tracker\n');
});
after(() => lab?.destroy());

/** socksgate with split DNS, from a config file; `extra` is YAML appended to the dns section's level. */
function startSplit(name: string, dnsExtra: string[] = [], top: string[] = []): Promise<Daemon> {
  const config = path.join(lab.dir, `${name}.yaml`);
  writeFileSync(config, [
    'upstreams:',
    `  - { name: dante, url: "socks5://${dante.host}:${dante.port}" }`,
    `mark: ${DAEMON_MARK}`,
    ...top,
    'dns:',
    `  listen: "${DNS}:53"`,
    `  upstreams: ["tcp://${lab.addr.internet}:53"]`,
    // dnsmasq answers with TTL 0: a minimum TTL makes its answers cacheable.
    '  cache: { min_ttl_s: 60 }',
    '  rules:',
    `    - { domain_suffix: [corp.lab.test], upstreams: ["udp://${lab.addr.proxyClientSide}:53"], via: direct }`,
    `    - { domain_file: ${blockList}, action: reject }`,
    ...dnsExtra,
    '',
  ].join('\n'));
  return startSocksgate(lab, 'client', ['--config', config], { name });
}

async function dig(args: readonly string[]): Promise<string> {
  const r = await lab.exec('client', 'dig', [`@${DNS}`, '+time=5', '+tries=1', ...args], { allowFail: true, timeoutMs: 15_000 });
  return r.stdout;
}

/** The sources dnsmasq logged for questions about `name` (--log-queries: `query[A] NAME from ADDR`). */
function askedFrom(server: DnsmasqHandle, name: string, type = 'A'): string[] {
  const wanted = `query[${type}] ${name} from `;
  return readFileSync(server.proc.logPath, 'utf8')
    .split('\n')
    .filter((l) => l.includes(wanted))
    .map((l) => l.slice(l.indexOf(wanted) + wanted.length).trim());
}

test('a split-DNS name goes straight to the LAN resolver, other names through Dante, a blocked name nowhere (NXDOMAIN)', async () => {
  const daemon = await startSplit('sg-split');
  try {
    assert.equal((await dig(['+short', 'intranet.corp.lab.test'])).trim(), lab.addr.proxyClientSide, daemon.proc.output());
    assert.equal((await dig(['+tcp', '+short', 'intranet.corp.lab.test'])).trim(), lab.addr.proxyClientSide, 'over TCP too, from the cache');
    assert.deepEqual(askedFrom(lanDns, 'intranet.corp.lab.test'), [lab.addr.client], 'asked once, from the client side\'s own address');
    assert.deepEqual(askedFrom(internetDns, 'intranet.corp.lab.test'), [], 'never through the proxy');
    await daemon.waitFor(/"qname":"intranet.corp.lab.test".*"rule":"domain_suffix=\[corp.lab.test\] → udp:\/\/192.0.2.1:53 via direct"/);

    assert.equal((await dig(['+short', 'web.lab.test'])).trim(), lab.addr.internet);
    assert.deepEqual(askedFrom(internetDns, 'web.lab.test'), [lab.addr.proxyInternetSide], 'through Dante');
    assert.deepEqual(askedFrom(lanDns, 'web.lab.test'), []);

    for (const name of ['blocked.lab.test', 'www.blocked.lab.test', 'tracker.lab.test']) {
      assert.match(await dig([name]), /status: NXDOMAIN/, name);
      assert.deepEqual([...askedFrom(internetDns, name), ...askedFrom(lanDns, name)], [], `${name} reached no resolver`);
    }
    assert.equal(daemon.proc.exitCode, null);
  } finally {
    await daemon.stop();
  }
});

test('fake-IP: a flow the route sends direct resolves its name through the direct DNS rule; exclude_sources get real answers', async () => {
  const daemon = await startSplit(
    'sg-split-fake',
    ['  fake_ip: { enabled: true, exclude_sources: [127.0.0.2/32] }'],
    ['route:', '  rules:', '    - { domain_suffix: [corp.lab.test], action: direct }'],
  );
  try {
    const fake = (await dig(['+short', 'app.corp.lab.test'])).trim();
    assert.match(fake, POOL_V4, daemon.proc.output());
    assert.deepEqual(askedFrom(lanDns, 'app.corp.lab.test'), [], 'a pool address, no resolver asked yet');

    const echo = await lab.exec('client', 'socat', ['-T', '5', '-', `TCP4:app.corp.lab.test:${ECHO_PORT}`], { input: 'split dns\n', allowFail: true, timeoutMs: 15_000 });
    assert.equal(echo.stdout, 'split dns\n', `${echo.stderr}\n${daemon.proc.output()}`);
    await daemon.waitFor(/"rule":"domain_suffix=\[corp.lab.test\] → direct"/);
    assert.deepEqual(askedFrom(lanDns, 'app.corp.lab.test'), [lab.addr.client], 'the direct flow\'s name was resolved by the LAN resolver, directly');
    assert.deepEqual(askedFrom(internetDns, 'app.corp.lab.test'), []);

    assert.match((await dig(['+short', 'web.lab.test'])).trim(), POOL_V4);
    assert.equal((await dig(['-b', '127.0.0.2', '+short', 'web.lab.test'])).trim(), lab.addr.internet, 'an excluded source gets the real address');
    assert.match(await dig(['-b', '127.0.0.2', 'blocked.lab.test']), /status: NXDOMAIN/, 'and the same rules');
  } finally {
    await daemon.stop();
  }
});
