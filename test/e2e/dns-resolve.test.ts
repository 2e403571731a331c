import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createLab, curl, LAB_IFACE, startDante, startDnsmasq, startNginx, startSshSocks, type DnsmasqHandle, type Lab, type NginxHandle } from './lab.js';
import { applyRedirectRules, DAEMON_MARK, startSocksgate, type Daemon } from './socksgate.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const DNS = '127.0.0.53';
/** Enough A records that the answer (~700 bytes) exceeds 512 and must be truncated over plain UDP. */
const MANY = Array.from({ length: 40 }, (_, i) => `203.0.113.${100 + i}`);

let lab: Lab;
let nginx: NginxHandle;
let dnsmasq: DnsmasqHandle;
let dante: string;
let ssh: string;
let config: string;

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  dnsmasq = await startDnsmasq(lab, {
    // An empty address is dnsmasq's way of saying NXDOMAIN (--address=/nx.lab.test/).
    records: { 'nx.lab.test': [''], 'many.lab.test': MANY, 'cache.lab.test': ['203.0.113.7'], 'burst.lab.test': ['203.0.113.8'], 'ssh.lab.test': ['203.0.113.9'] },
  });
  const d = await startDante(lab, { port: 1080 });
  const s = await startSshSocks(lab, { port: 1082 });
  dante = `socks5://${d.host}:${d.port}`;
  ssh = `socks5://${s.host}:${s.port}`;
  await applyRedirectRules(lab, 'client');
  writeFileSync(lab.resolvConfPath('client'), `nameserver ${DNS}\noptions timeout:2 attempts:1\n`);
  // dnsmasq answers with TTL 0: a minimum TTL makes its answers cacheable.
  config = path.join(lab.dir, 'dns.yaml');
  writeFileSync(config, 'dns:\n  cache:\n    min_ttl_s: 60\n');
});
after(() => lab?.destroy());

function startDns(upstream: string, name: string): Promise<Daemon> {
  return startSocksgate(
    lab,
    'client',
    ['--config', config, '--upstream', upstream, '--mark', String(DAEMON_MARK), '--dns', `${DNS}:53`, '--dns-upstream', `tcp://${lab.addr.internet}:53`],
    { name },
  );
}

async function dig(args: readonly string[]): Promise<string> {
  const r = await lab.exec('client', 'dig', [`@${DNS}`, '+time=5', '+tries=1', ...args], { allowFail: true, timeoutMs: 15_000 });
  return r.stdout;
}

/** dnsmasq logs every query it receives (--log-queries to its stderr). */
function upstreamQueries(name: string, type = 'A'): number {
  const wanted = `query[${type}] ${name} from`;
  return readFileSync(dnsmasq.proc.logPath, 'utf8').split('\n').filter((l) => l.includes(wanted)).length;
}

/** Packets to port 53 leaving the client namespace on its only outer interface. */
async function countPort53(): Promise<number> {
  const r = await lab.exec('client', 'iptables', ['-L', 'OUTPUT', '-v', '-x', '-n']);
  return r.stdout
    .split('\n')
    .filter((l) => l.includes('dpt:53'))
    .reduce((sum, l) => sum + Number(l.trim().split(/\s+/)[0]), 0);
}

test('dig over UDP and TCP through Dante; curl by name works; no packet to port 53 leaves the client', async () => {
  for (const proto of ['udp', 'tcp']) {
    await lab.exec('client', 'iptables', ['-I', 'OUTPUT', '-o', LAB_IFACE.clientToProxy, '-p', proto, '--dport', '53']);
  }
  const daemon = await startDns(dante, 'sg-dns-dante');
  try {
    assert.equal((await dig(['+short', 'web.lab.test'])).trim(), lab.addr.internet, daemon.proc.output());
    assert.equal((await dig(['+tcp', '+short', 'alt.lab.test'])).trim(), lab.addr.extraTarget);
    assert.match(await dig(['nx.lab.test']), /status: NXDOMAIN/);
    assert.match(await dig(['unknown.example']), /status: SERVFAIL/, 'dnsmasq refuses names it does not know: every resolver failed');

    const page = await curl(lab, 'client', 'http://web.lab.test/small.txt');
    assert.equal(page.code, 0, `${page.stderr}\n${daemon.proc.output()}`);
    assert.equal(page.body, nginx.smallText);
    // Garbage over UDP and TCP (a frame too short to be DNS): FORMERR or silence, and the daemon lives on.
    await lab.exec('client', 'socat', ['-T', '1', '-', `UDP:${DNS}:53`], { input: Buffer.from('00ff0100000100000000000003', 'hex'), allowFail: true });
    await lab.exec('client', 'socat', ['-T', '1', '-', `TCP:${DNS}:53`], { input: Buffer.from('0003ffffff', 'hex'), allowFail: true });
    assert.equal((await dig(['+short', 'web.lab.test'])).trim(), lab.addr.internet, 'still answering');
    assert.equal(daemon.proc.exitCode, null);
    assert.equal(await countPort53(), 0, 'DNS left the client namespace unproxied');
    // The counters do see DNS that bypasses socksgate (it goes nowhere: the proxy does not forward).
    await lab.exec('client', 'dig', [`@${lab.addr.internet}`, '+time=1', '+tries=1', 'web.lab.test'], { allowFail: true });
    assert.ok((await countPort53()) > 0, 'the leak counter counts');
  } finally {
    await daemon.stop();
  }
});

test('an answer larger than 512 bytes is truncated over UDP and complete over TCP', async () => {
  const daemon = await startDns(dante, 'sg-dns-tc');
  try {
    assert.match(await dig(['+ignore', '+noedns', 'many.lab.test']), /flags: qr [^;]*tc/, 'TC set over plain UDP');
    const lines = (await dig(['+noedns', '+short', 'many.lab.test'])).trim().split('\n');
    assert.deepEqual([...lines].sort(), [...MANY].sort(), 'dig retried over TCP and got every record');
  } finally {
    await daemon.stop();
  }
});

test('dig over UDP and TCP through ssh -D (DNS over TCP through its CONNECT)', async () => {
  const daemon = await startDns(ssh, 'sg-dns-ssh');
  try {
    assert.equal((await dig(['+short', 'ssh.lab.test'])).trim(), '203.0.113.9', daemon.proc.output());
    assert.equal((await dig(['+tcp', '+short', 'web.lab.test'])).trim(), lab.addr.internet);
  } finally {
    await daemon.stop();
  }
});

test('a udp:// resolver is asked through Dante\'s UDP ASSOCIATE; one that fails falls through to the next', async () => {
  const daemon = await startSocksgate(
    lab,
    'client',
    [
      '--config', config, '--upstream', dante, '--mark', String(DAEMON_MARK), '--dns', `${DNS}:53`,
      // Nothing listens on 203.0.113.10:53: that resolver times out and the next one answers.
      '--dns-upstream', `udp://${lab.addr.extraTarget}:53`, '--dns-upstream', `udp://${lab.addr.internet}:53`,
    ],
    { name: 'sg-dns-udp' },
  );
  try {
    assert.equal((await dig(['+short', 'alt.lab.test'])).trim(), lab.addr.extraTarget, daemon.proc.output());
    await daemon.waitFor(/"resolver":"udp:\/\/203\.0\.113\.10:53".*resolver did not answer/);
  } finally {
    await daemon.stop();
  }
});

test('cache: a repeated question and a burst of 100 identical ones each reach dnsmasq once', async () => {
  const daemon = await startDns(dante, 'sg-dns-cache');
  try {
    assert.equal((await dig(['+short', 'cache.lab.test'])).trim(), '203.0.113.7');
    assert.equal((await dig(['+short', 'cache.lab.test'])).trim(), '203.0.113.7');
    assert.equal(upstreamQueries('cache.lab.test'), 1, 'the second query was answered from the cache');

    const burst = await lab.exec('client', process.execPath, [path.join(FIXTURES, 'dns-burst.mjs'), DNS, '53', 'burst.lab.test', '100']);
    assert.deepEqual(JSON.parse(burst.stdout), { sent: 100, answered: 100 });
    assert.equal(upstreamQueries('burst.lab.test'), 1, 'identical questions in flight share one upstream query');
  } finally {
    await daemon.stop();
  }
});

test('DNS sent straight to another resolver is captured by a REDIRECT of port 53 and answered through the proxy', async () => {
  const rules = ['udp', 'tcp'].map((proto) => ['OUTPUT', '-p', proto, '--dport', '53', '-m', 'mark', '!', '--mark', `${DAEMON_MARK}/${DAEMON_MARK}`, '-m', 'addrtype', '!', '--dst-type', 'LOCAL', '-j', 'REDIRECT', '--to-ports', '5353']);
  const daemon = await startSocksgate(
    lab,
    'client',
    ['--config', config, '--upstream', dante, '--mark', String(DAEMON_MARK), '--dns', '127.0.0.1:5353', '--dns-upstream', `tcp://${lab.addr.internet}:53`],
    { name: 'sg-dns-capture' },
  );
  // Ahead of the TCP REDIRECT to 12345, so DNS over TCP lands on the DNS listener too.
  for (const rule of rules) await lab.exec('client', 'iptables', ['-t', 'nat', '-I', 'OUTPUT', '1', ...rule.slice(1)]);
  try {
    for (const extra of [[], ['+tcp']]) {
      const r = await lab.exec('client', 'dig', [`@${lab.addr.internet}`, '+time=5', '+tries=1', '+short', ...extra, 'alt.lab.test'], { allowFail: true });
      assert.equal(r.stdout.trim(), lab.addr.extraTarget, `${extra.join(' ')}\n${r.stdout}${r.stderr}\n${daemon.proc.output()}`);
    }
    await daemon.waitFor(/"via":"udp".*"qname":"alt.lab.test"/);
    await daemon.waitFor(/"via":"tcp".*"qname":"alt.lab.test"/);
  } finally {
    for (const rule of rules) await lab.exec('client', 'iptables', ['-t', 'nat', '-D', ...rule], { allowFail: true });
    await daemon.stop();
  }
});
