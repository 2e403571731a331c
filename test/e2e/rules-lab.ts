/**
 * Helpers for the `socksgate rules` e2e tests: the CLI run inside a lab namespace, snapshots of
 * everything rules can touch there, and a LAN namespace behind the client for router mode.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecResult, Lab, NsRef } from './lab.js';

export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/main.js');

/** `socksgate rules <action> …` in a namespace; throws on a nonzero exit. */
export function rules(lab: Lab, ns: NsRef, action: 'apply' | 'flush' | 'print', args: readonly string[]): Promise<ExecResult> {
  return lab.exec(ns, process.execPath, [MAIN, 'rules', action, ...args]);
}

const SNAPSHOT: [string, string[]][] = [
  ['iptables-save', []],
  ['ip6tables-save', []],
  ['nft', ['list', 'ruleset']],
  ['ip', ['rule']],
  ['ip', ['-6', 'rule']],
  ['ip', ['-4', 'route', 'show', 'table', 'all']],
  ['ip', ['-6', 'route', 'show', 'table', 'all']],
  ['ipset', ['list', '-n']],
];

/** Everything rules may change in `ns`, with comments and counters normalised away. */
export async function snapshot(lab: Lab, ns: NsRef): Promise<string> {
  let text = '';
  for (const [cmd, args] of SNAPSHOT) {
    const r = await lab.exec(ns, cmd, args);
    const normal = r.stdout
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .map((line) => line.replace(/\[\d+:\d+\]/g, '[0:0]').replace(/counter packets \d+ bytes \d+/g, 'counter'))
      .join('\n');
    text += `=== ${cmd} ${args.join(' ')}\n${normal}\n`;
  }
  return text;
}

/** How many copies of socksgate's hooks are installed: each is 0 or 1 when all is well. */
export async function installedCopies(lab: Lab, ns: NsRef): Promise<{ nftTables: number; iptablesJumps: number; ipRules: number }> {
  const out = async (cmd: string, args: string[]) => (await lab.exec(ns, cmd, args)).stdout;
  const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;
  const saved = (await out('iptables-save', [])) + (await out('ip6tables-save', []));
  const ruleList = (await out('ip', ['rule'])) + (await out('ip', ['-6', 'rule']));
  return {
    nftTables: count(await out('nft', ['list', 'tables']), /^table inet socksgate$/),
    iptablesJumps: count(saved, /^-A (OUTPUT|PREROUTING) .*-j SOCKSGATE_/),
    ipRules: count(ruleList, /fwmark 0x1\/0x1 lookup 100/),
  };
}

export const LAN = Object.freeze({
  iface: 'to-lan', // in the client (router) namespace
  router: '203.0.113.129',
  host: '203.0.113.130',
  net: '203.0.113.128/26',
  router6: '2001:db8:4::1',
  host6: '2001:db8:4::2',
  net6: '2001:db8:4::/64',
});

function run(cmd: string, args: readonly string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`))));
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * A LAN host namespace `sg-<lab id>-l` behind the client namespace, which becomes its router:
 *
 *   lan (203.0.113.130/26, 2001:db8:4::2) ⇄ client/router (203.0.113.129, 2001:db8:4::1) ⇄ proxy ⇄ internet
 *
 * The router does not forward (the lab sets ip_forward=0), so LAN traffic reaches the internet
 * only when the router's rules divert it to socksgate. lab.destroy() deletes this namespace too.
 * Commands run in it through the client namespace (`ip netns exec` works from inside one), so
 * the lab tracks and kills them like its own.
 */
export async function addLan(lab: Lab): Promise<{ ns: string; exec(cmd: string, args: readonly string[]): Promise<ExecResult> }> {
  const ns = `sg-${lab.id}-l`;
  const etc = path.join('/etc/netns', ns);
  fs.mkdirSync(etc, { recursive: true });
  fs.writeFileSync(path.join(etc, 'resolv.conf'), `# socksgate e2e lab ${lab.id}\nnameserver ${LAN.router}\noptions timeout:1 attempts:1\n`);
  fs.writeFileSync(path.join(etc, 'hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', lab.ns.client, 'link', 'add', LAN.iface, 'type', 'veth', 'peer', 'name', 'to-router', 'netns', ns]);
  await run('ip', ['-n', lab.ns.client, '-batch', '-'], [`link set ${LAN.iface} up`, `addr add ${LAN.router}/26 dev ${LAN.iface}`, `addr add ${LAN.router6}/64 dev ${LAN.iface} nodad`, ''].join('\n'));
  await run('ip', ['-n', ns, '-batch', '-'], [
    'link set lo up',
    'link set to-router up',
    `addr add ${LAN.host}/26 dev to-router`,
    `addr add ${LAN.host6}/64 dev to-router nodad`,
    `route add default via ${LAN.router}`,
    `route add default via ${LAN.router6}`,
    '',
  ].join('\n'));
  return { ns, exec: (cmd, args) => lab.exec('client', 'ip', ['netns', 'exec', ns, cmd, ...args], { allowFail: true }) };
}
