import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLab, startDante, startDnsmasq, startNginx, type Lab, type NginxHandle } from './lab.js';
import { addLan, LAN, rules, snapshot } from './rules-lab.js';
import { DAEMON_MARK, startSocksgate } from './socksgate.js';

/** Router mode: the client namespace routes a LAN namespace; its traffic is diverted with TPROXY. */

let lab: Lab;
let nginx: NginxHandle;
let upstream: string;
let lan: Awaited<ReturnType<typeof addLan>>;

before(async () => {
  lab = await createLab({ ipv6: true });
  lan = await addLan(lab);
  nginx = await startNginx(lab);
  await startDnsmasq(lab);
  const dante = await startDante(lab, { port: 1080 });
  upstream = `socks5://${dante.host}:${dante.port}`;
});
after(() => lab?.destroy());

const lanCurl = (url: string, timeout = '5') => lan.exec('curl', ['-sS', '--connect-timeout', timeout, '--max-time', '20', url]);

const CASES = [
  { backend: 'nft', lan: ['--lan-interface', LAN.iface] },
  { backend: 'iptables', lan: ['--lan-source', LAN.net, '--lan-source', LAN.net6] },
] as const;

for (const { backend, lan: lanArgs } of CASES) {
  test(`router mode, ${backend}: a LAN host's curl goes through socksgate on the router; flush restores everything`, async () => {
    const args = ['--upstream', upstream, '--mark', String(DAEMON_MARK), '--tproxy', '[::]:12347', '--rules-backend', backend, '--rules-mode', 'router', ...lanArgs];
    const clean = await snapshot(lab, 'client');
    assert.notEqual((await lanCurl(nginx.url('/small.txt'), '1')).code, 0, 'the router must not forward by itself');

    await rules(lab, 'client', 'apply', args);
    const once = await snapshot(lab, 'client');
    await rules(lab, 'client', 'apply', args);
    assert.equal(await snapshot(lab, 'client'), once);
    const daemon = await startSocksgate(lab, 'client', args, { name: `sg-router-${backend}` });
    try {
      for (const host of [lab.addr.internet, `[${lab.addr.internet6}]`]) {
        const small = await lanCurl(`http://${host}/small.txt`);
        assert.equal(small.code, 0, `${host}: ${small.stderr}\n${daemon.proc.output()}`);
        assert.equal(small.stdout, nginx.smallText);
      }
      const seen = await lanCurl(`http://[${lab.addr.internet6}]/ip`);
      assert.equal(seen.stdout.trim(), lab.addr.proxyInternetSide6);
      // UDP from the LAN: dig's queries cross TPROXY and Dante's UDP relay.
      for (const [server, type, answer] of [[lab.addr.internet, 'A', lab.addr.internet], [lab.addr.internet6, 'AAAA', lab.addr.internet6]]) {
        const dig = await lan.exec('dig', [`@${server}`, 'web.lab.test', type, '+short', '+notcp', '+tries=2', '+time=3']);
        assert.equal(dig.stdout.trim(), answer, `${dig.stdout}${dig.stderr}\n${daemon.proc.output()}`);
      }
    } finally {
      assert.equal(await daemon.stop(), 0);
    }
    const flows = daemon.lines().filter((l) => l.msg === 'flow finished');
    assert.equal(flows.length, 3, 'TCP flows');
    assert.deepEqual(new Set(flows.map((l) => String(l.src).replace(/:\d+$/, ''))), new Set([LAN.host, `[${LAN.host6}]`]));

    await rules(lab, 'client', 'flush', args);
    assert.equal(await snapshot(lab, 'client'), clean);
  });
}
