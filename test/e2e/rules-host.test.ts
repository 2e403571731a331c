import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createLab, curl, startDante, startDnsmasq, startNginx, type Lab, type NginxHandle } from './lab.js';
import { installedCopies, rules, snapshot } from './rules-lab.js';
import { DAEMON_MARK, startSocksgate } from './socksgate.js';
import { digShort } from './udp-helpers.js';

/** Host mode: `socksgate rules apply` in the client namespace diverts its own curl. */

let lab: Lab;
let nginx: NginxHandle;
let dante: Awaited<ReturnType<typeof startDante>>;
let upstream: string;

before(async () => {
  lab = await createLab({ ipv6: true });
  nginx = await startNginx(lab);
  await startDnsmasq(lab);
  dante = await startDante(lab, { port: 1080 });
  // pipelining on: no probe connection, so Dante sees exactly one connection per flow
  upstream = `socks5://${dante.host}:${dante.port}?pipelining=on`;
});
after(() => lab?.destroy());

/** Dante's log line for each client session it accepted (the upstream connections socksgate made). */
function danteSessions(): number {
  return readFileSync(dante.log, 'utf8').split('\n').filter((l) => /info: pass\(1\): tcp\/connect \]/.test(l)).length;
}

const CASES = [
  { backend: 'nft', listeners: ['--tproxy', '[::]:12347'], inbound: 'tproxy', udp: true },
  { backend: 'iptables', listeners: ['--redirect', '127.0.0.1:12345', '--redirect', '[::1]:12345'], inbound: 'redirect', udp: false },
] as const;

for (const { backend, listeners, inbound, udp } of CASES) {
  test(`host mode, ${backend}: curl goes through socksgate, no loop, apply twice = once, flush restores everything`, async () => {
    const args = ['--upstream', upstream, '--mark', String(DAEMON_MARK), ...listeners, '--rules-backend', backend];
    const before = await snapshot(lab, 'client');
    await rules(lab, 'client', 'apply', args);
    const once = await snapshot(lab, 'client');
    await rules(lab, 'client', 'apply', args);
    assert.equal(await snapshot(lab, 'client'), once, 'a second apply changed something');
    assert.deepEqual(await installedCopies(lab, 'client'), { nftTables: backend === 'nft' ? 1 : 0, iptablesJumps: backend === 'nft' ? 0 : 2, ipRules: backend === 'nft' ? 2 : 0 });

    const sessionsBefore = danteSessions();
    const daemon = await startSocksgate(lab, 'client', args, { name: `sg-host-${backend}` });
    try {
      for (const host of [lab.addr.internet, `[${lab.addr.internet6}]`]) {
        const r = await curl(lab, 'client', `http://${host}/small.txt`);
        assert.equal(r.code, 0, `${host}: ${r.stderr}\n${daemon.proc.output()}`);
        assert.equal(r.body, nginx.smallText);
      }
      const seen = await curl(lab, 'client', nginx.url('/ip'));
      assert.equal(seen.body.trim(), lab.addr.proxyInternetSide);
      if (udp) {
        // UDP TPROXY: dig's query to the internet's DNS server crosses Dante's UDP relay.
        for (const [server, type, answer] of [[lab.addr.internet, 'A', lab.addr.internet], [lab.addr.internet6, 'AAAA', lab.addr.internet6]]) {
          const dig = await digShort(lab, 'client', server, 'web.lab.test', type);
          assert.deepEqual(dig.answer, [answer], `${dig.output}\n${daemon.proc.output()}`);
        }
      }
    } finally {
      assert.equal(await daemon.stop(), 0);
    }
    // The loop test: 3 flows, 3 upstream connections, none of them diverted back to socksgate.
    const flows = daemon.lines().filter((l) => l.msg === 'flow finished');
    assert.equal(flows.length, 3);
    assert.ok(flows.every((l) => l.inbound === inbound && l.outcome !== 'failed'), JSON.stringify(flows));
    assert.equal(daemon.lines().filter((l) => /refused/.test(l.msg)).length, 0);
    await waitForSessions(sessionsBefore + 3);
    assert.equal(danteSessions(), sessionsBefore + 3);

    await rules(lab, 'client', 'flush', args);
    assert.equal(await snapshot(lab, 'client'), before);
    const direct = await curl(lab, 'client', nginx.url('/small.txt'), ['--connect-timeout', '1']);
    assert.notEqual(direct.code, 0, 'without rules the client has no way to the internet');
  });
}

async function waitForSessions(n: number): Promise<void> {
  for (let i = 0; i < 100 && danteSessions() < n; i++) await new Promise((r) => setTimeout(r, 50));
}
