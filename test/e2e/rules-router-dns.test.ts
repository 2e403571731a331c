import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLab, startDante, startDnsmasq, type DnsmasqHandle, type Lab } from './lab.js';
import { addLan, LAN, rules, snapshot } from './rules-lab.js';
import { DAEMON_MARK, startSocksgate } from './socksgate.js';

/**
 * Router mode, DNS capture: a LAN host behind the router (the client namespace) asks port 53 of
 * whatever server it likes; the router's rules redirect the query to socksgate's DNS listener,
 * which resolves it over TCP through Dante at dnsmasq in the internet namespace. Proven from both
 * ends: socksgate logs the query from the LAN host, and dnsmasq logs it from Dante's outgoing
 * address, never from the LAN host. The listener is on [::] (router mode needs it), so the WAN
 * side (the proxy namespace) reaches it too: it must get no answer, while the router itself does.
 */

let lab: Lab;
let dnsmasq: DnsmasqHandle;
let upstream: string;
let lan: Awaited<ReturnType<typeof addLan>>;

/** Nothing listens here (TEST-NET-3, routed towards the internet namespace): only capture answers. */
const NOWHERE = '203.0.113.53';
const NOWHERE6 = '2001:db8:3::53';
/** What dnsmasq would answer for the names asked from the WAN side and by the router itself. */
const WAN_ANSWER = '203.0.113.47';
const SELF_ANSWER = '203.0.113.48';

const BACKENDS = [
  { backend: 'nft', lan: ['--lan-interface', LAN.iface] },
  { backend: 'iptables', lan: ['--lan-source', LAN.net, '--lan-source', LAN.net6] },
] as const;

/** One name per backend and question: each line in either log belongs to one dig. */
const name = (backend: string, what: string) => `${what}.${backend}.router-dns.lab.test`;
const QUESTIONS = (backend: string) =>
  [
    { server: lab.addr.internet, qname: name(backend, 'direct4'), type: 'A', answer: '203.0.113.41', via: 'udp', dig: ['+notcp'] },
    { server: NOWHERE, qname: name(backend, 'nowhere4'), type: 'A', answer: '203.0.113.42', via: 'udp', dig: ['+notcp'] },
    { server: NOWHERE, qname: name(backend, 'tcp4'), type: 'A', answer: '203.0.113.43', via: 'tcp', dig: ['+tcp'] },
    { server: lab.addr.internet6, qname: name(backend, 'direct6'), type: 'AAAA', answer: '2001:db8:3::44', via: 'udp', dig: ['+notcp'] },
    { server: NOWHERE6, qname: name(backend, 'nowhere6'), type: 'AAAA', answer: '2001:db8:3::45', via: 'udp', dig: ['+notcp'] },
    { server: NOWHERE6, qname: name(backend, 'tcp6'), type: 'AAAA', answer: '2001:db8:3::46', via: 'tcp', dig: ['+tcp'] },
  ] as const;

before(async () => {
  lab = await createLab({ ipv6: true });
  lan = await addLan(lab);
  const records: Record<string, string[]> = {};
  for (const { backend } of BACKENDS) {
    for (const q of QUESTIONS(backend)) records[q.qname] = [q.answer];
    records[name(backend, 'wan')] = [WAN_ANSWER];
    records[name(backend, 'self')] = [SELF_ANSWER];
  }
  dnsmasq = await startDnsmasq(lab, { records });
  const dante = await startDante(lab, { port: 1080 });
  upstream = `socks5://${dante.host}:${dante.port}`;
});
after(() => lab?.destroy());

/** dnsmasq's `query[TYPE] NAME from ADDR` lines for one name. */
const dnsmasqQueries = (qname: string) =>
  dnsmasq.proc
    .output()
    .split('\n')
    .filter((l) => l.includes(`] ${qname} from `));

for (const { backend, lan: lanArgs } of BACKENDS) {
  test(`router mode, ${backend}: a LAN host's DNS to any server is answered by socksgate's DNS listener through the proxy; flush restores everything`, async () => {
    const args = [
      '--upstream', upstream,
      '--mark', String(DAEMON_MARK),
      '--tproxy', '[::]:12347',
      '--dns', '[::]:5353',
      '--dns-upstream', `tcp://${lab.addr.internet}:53`,
      '--rules-backend', backend,
      '--rules-mode', 'router',
      ...lanArgs,
    ];
    const clean = await snapshot(lab, 'client');
    const [first] = QUESTIONS(backend);
    const unrouted = await lan.exec('dig', [`@${first.server}`, 'web.lab.test', 'A', '+short', '+notcp', '+tries=1', '+time=1']);
    assert.notEqual(unrouted.stdout.trim(), lab.addr.internet, 'without rules the router must not carry DNS');

    await rules(lab, 'client', 'apply', args);
    const printed = (await rules(lab, 'client', 'print', args)).stdout;
    assert.match(printed, /dns :5353/, 'the plan captures DNS');
    const daemon = await startSocksgate(lab, 'client', args, { name: `sg-router-dns-${backend}` });
    try {
      for (const q of QUESTIONS(backend)) {
        const dig = await lan.exec('dig', [`@${q.server}`, q.qname, q.type, '+short', ...q.dig, '+tries=2', '+time=3']);
        assert.equal(dig.stdout.trim(), q.answer, `dig @${q.server} ${q.qname} ${q.type}: ${dig.stdout}${dig.stderr}\n${daemon.proc.output()}\n${dnsmasq.proc.output()}`);
      }
      // The WAN side asks the router's wildcard listener directly: no recursion through the proxy.
      for (const [server, via] of [[lab.addr.client, '+notcp'], [lab.addr.client, '+tcp'], [lab.addr.client6, '+notcp'], [lab.addr.client6, '+tcp']]) {
        const dig = await lab.exec('proxy', 'dig', [`@${server}`, '-p', '5353', name(backend, 'wan'), 'A', '+short', via, '+tries=1', '+time=2'], { allowFail: true });
        assert.doesNotMatch(dig.stdout, new RegExp(WAN_ANSWER.replace(/\./g, '\\.')), `dig from the WAN side @${server} ${via} was answered`);
      }
      // The router's own processes, asking at one of its addresses, are answered.
      const self = await lab.exec('client', 'dig', [`@${lab.addr.client}`, '-p', '5353', name(backend, 'self'), 'A', '+short', '+notcp', '+tries=2', '+time=3'], { allowFail: true });
      assert.equal(self.stdout.trim(), SELF_ANSWER, `dig on the router: ${self.stdout}${self.stderr}`);
    } finally {
      assert.equal(await daemon.stop(), 0);
    }

    const dnsLines = daemon.lines().filter((l) => l.msg === 'DNS query');
    const esc = (text: string) => text.replace(/[.[\]]/g, '\\$&');
    for (const q of QUESTIONS(backend)) {
      // socksgate's listener got it from the LAN host (IPv4 peers of the [::] socket are mapped) …
      // (at least once: dig may retry when the machine is slow)
      const mine = dnsLines.filter((l) => l.qname === q.qname);
      assert.ok(mine.length >= 1, `${q.qname}: not in socksgate's DNS log\n${daemon.proc.output()}`);
      const lanHost = q.type === 'A' ? `[::ffff:${LAN.host}]` : `[${LAN.host6}]`;
      for (const line of mine) {
        assert.deepEqual([line.qtype, line.rcode, line.via], [q.type, 'NOERROR', q.via], q.qname);
        assert.equal(String(line.from).replace(/:\d+$/, ''), lanHost, `${q.qname}: from`);
      }
      // … and dnsmasq got it from Dante's internet-side address only: through the proxy.
      const seen = dnsmasqQueries(q.qname);
      assert.ok(seen.length >= 1, `${q.qname}: not in dnsmasq's log\n${dnsmasq.proc.output()}`);
      for (const line of seen) assert.match(line, new RegExp(`query\\[${q.type}\\] ${esc(q.qname)} from ${esc(lab.addr.proxyInternetSide)}$`));
    }
    assert.deepEqual(dnsmasqQueries(name(backend, 'wan')), [], 'no WAN query reached the resolver');
    const ignored = daemon.lines().filter((l) => l.msg.startsWith('DNS query ignored'));
    const wanSide = [lab.addr.proxyClientSide, lab.addr.proxyClientSide6];
    assert.ok(ignored.length >= 1 && ignored.every((l) => wanSide.some((a) => String(l.from).includes(`${a}]`))), `the WAN queries are logged as ignored\n${daemon.proc.output()}`);
    // Nothing from the LAN reached dnsmasq directly, and nothing was carried as plain UDP/TCP flows.
    assert.doesNotMatch(dnsmasq.proc.output(), new RegExp(`from (${LAN.host.replace(/\./g, '\\.')}|${LAN.host6})`));
    assert.equal(daemon.lines().filter((l) => l.msg === 'flow finished').length, 0, 'no TCP flow: DNS over TCP went to the DNS listener');
    assert.equal(daemon.lines().filter((l) => l.msg === 'udp association open').length, 0, 'no UDP association: port 53 is not TPROXYed');
    assert.doesNotMatch(daemon.proc.output(), /SG_ERR_LOOP/);

    await rules(lab, 'client', 'flush', args);
    assert.equal(await snapshot(lab, 'client'), clean);
  });
}
