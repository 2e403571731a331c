import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { createLab, curl, LAB_HOSTS, startDante, startDnsmasq, startNginx, waitForLog, type Lab, type LabProcess, type NginxHandle } from './lab.js';
import { MAIN, rules, snapshot } from './rules-lab.js';

/**
 * Sidecar mode as a "pod": two processes share the client namespace. An init step runs
 * `rules apply --rules-mode sidecar` as root; the daemon then runs as its own unprivileged user,
 * excluded by uid (no mark, no capabilities). Port 53 is captured to the daemon's DNS listener.
 */

let lab: Lab;
let nginx: NginxHandle;
let upstream: string;
const SIDECAR_USER = 'sgtest';
const uid = Number(execFileSync('id', ['-u', SIDECAR_USER], { encoding: 'utf8' }).trim());
const gid = Number(execFileSync('id', ['-g', SIDECAR_USER], { encoding: 'utf8' }).trim());

before(async () => {
  lab = await createLab();
  nginx = await startNginx(lab);
  await startDnsmasq(lab);
  const dante = await startDante(lab, { port: 1080 });
  upstream = `socks5://${dante.host}:${dante.port}`;
});
after(() => lab?.destroy());

async function startSidecar(args: readonly string[], name: string): Promise<LabProcess> {
  const proc = lab.spawn('client', 'setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, MAIN, 'run', '--log-level', 'debug', ...args], { name });
  try {
    await waitForLog(proc.logPath, /"msg":"socksgate running"/, 10_000);
  } catch (err) {
    await lab.kill(proc, 500);
    throw new Error(`sidecar did not start:\n${proc.output()}`, { cause: err });
  }
  return proc;
}

for (const backend of ['nft', 'iptables'] as const) {
  test(`sidecar mode, ${backend}: the pod's curl and DNS go through the sidecar; flush restores everything`, async () => {
    const args = ['--upstream', upstream, '--redirect', '127.0.0.1:12345', '--dns', '127.0.0.1:5353', '--dns-upstream', `tcp://${lab.addr.internet}:53`];
    const ruleArgs = [...args, '--rules-backend', backend, '--rules-mode', 'sidecar', '--exclude-uid', String(uid)];
    const clean = await snapshot(lab, 'client');
    await rules(lab, 'client', 'apply', ruleArgs);
    const applied = await snapshot(lab, 'client');
    assert.doesNotMatch(applied, /fwmark/, 'sidecar mode changes no routing');
    const sidecar = await startSidecar(args, `sidecar-${backend}`);
    try {
      // The pod resolves through its nameserver (192.0.2.1 in resolv.conf); port 53 is captured.
      const r = await curl(lab, 'client', `http://${LAB_HOSTS.web}/small.txt`);
      assert.equal(r.code, 0, `${r.stderr}\n${sidecar.output()}`);
      assert.equal(r.body, nginx.smallText);
      const seen = await curl(lab, 'client', nginx.url('/ip'));
      assert.equal(seen.body.trim(), lab.addr.proxyInternetSide);
    } finally {
      await lab.kill(sidecar);
    }
    assert.match(sidecar.output(), /"inbound":"redirect".*"dst":"198\.51\.100\.2:80".*"msg":"flow finished"/);
    assert.match(sidecar.output(), /"qname":"web\.lab\.test","qtype":"A","rcode":"NOERROR".*"msg":"DNS query"/);
    assert.doesNotMatch(sidecar.output(), /SG_ERR_LOOP/);
    await rules(lab, 'client', 'flush', ruleArgs);
    assert.equal(await snapshot(lab, 'client'), clean);
  });
}
