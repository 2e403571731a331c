/**
 * Builds the lab's network: per-namespace /etc/netns files, the namespaces, sysctls, the two veth
 * pairs (created inside the namespaces) and addresses and routes (see test/e2e/lab.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { LAB_ADDR, LAB_HOSTS, LAB_IFACE } from './constants.js';
import { run } from './process.js';
import type { Lab } from './types.js';

export async function setupNetwork(lab: Pick<Lab, 'id' | 'ns' | 'ipv6' | 'exec'>): Promise<void> {
  const { client, proxy, internet } = lab.ns;
  const A = LAB_ADDR;
  const all = [client, proxy, internet];

  // Per-namespace /etc files first: every later `ip netns exec` binds them.
  const v6 = lab.ipv6;
  const localhost = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';
  const labHosts =
    `${A.internet}\t${LAB_HOSTS.web} ${LAB_HOSTS.web4}\n${A.extraTarget}\t${LAB_HOSTS.alt}\n` +
    (v6 ? `${A.internet6}\t${LAB_HOSTS.web} ${LAB_HOSTS.web6}\n` : '');
  const files: Record<string, { resolv: string; hosts: string }> = {
    [client]: { resolv: A.proxyClientSide, hosts: localhost },
    [proxy]: { resolv: A.internet, hosts: localhost + labHosts },
    [internet]: { resolv: '127.0.0.1', hosts: localhost + labHosts },
  };
  for (const ns of all) {
    const d = path.join('/etc/netns', ns);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(
      path.join(d, 'resolv.conf'),
      `# socksgate e2e lab ${lab.id}\nnameserver ${files[ns]!.resolv}\noptions timeout:1 attempts:1\n`,
    );
    fs.writeFileSync(path.join(d, 'hosts'), files[ns]!.hosts);
  }

  await Promise.all(all.map((ns) => run('ip', ['netns', 'add', ns])));

  const sysctls = [
    'net.ipv4.ip_forward=0',
    'net.ipv6.conf.all.forwarding=0',
    'net.ipv4.tcp_tw_reuse=1',
    'net.ipv4.ip_local_port_range=10000 65000',
    'net.ipv6.conf.all.accept_dad=0',
    'net.ipv6.conf.default.accept_dad=0',
    'net.ipv6.conf.all.accept_ra=0',
    'net.ipv6.conf.default.accept_ra=0',
  ];
  await Promise.all(all.map((ns) => lab.exec(ns, 'sysctl', ['-q', '-w', ...sysctls])));

  // veth pairs created inside the namespaces: never a device in the root namespace
  await run('ip', ['-n', client, 'link', 'add', LAB_IFACE.clientToProxy, 'type', 'veth', 'peer', 'name', LAB_IFACE.proxyToClient, 'netns', proxy]);
  await run('ip', ['-n', proxy, 'link', 'add', LAB_IFACE.proxyToInternet, 'type', 'veth', 'peer', 'name', LAB_IFACE.internetToProxy, 'netns', internet]);

  const c: string[] = [
    'link set lo up',
    `link set ${LAB_IFACE.clientToProxy} up`,
    `addr add ${A.client}/24 dev ${LAB_IFACE.clientToProxy}`,
    `route add ${A.internetNet} via ${A.proxyClientSide}`,
    `route add ${A.targetNet} via ${A.proxyClientSide}`,
  ];
  const p: string[] = [
    'link set lo up',
    `link set ${LAB_IFACE.proxyToClient} up`,
    `link set ${LAB_IFACE.proxyToInternet} up`,
    `addr add ${A.proxyClientSide}/24 dev ${LAB_IFACE.proxyToClient}`,
    `addr add ${A.proxyInternetSide}/24 dev ${LAB_IFACE.proxyToInternet}`,
    `route add ${A.targetNet} via ${A.internet}`,
  ];
  const i: string[] = [
    'link set lo up',
    `link set ${LAB_IFACE.internetToProxy} up`,
    `addr add ${A.internet}/24 dev ${LAB_IFACE.internetToProxy}`,
    `addr add ${A.extraTarget}/32 dev lo`,
  ];
  if (v6) {
    c.push(
      `addr add ${A.client6}/64 dev ${LAB_IFACE.clientToProxy} nodad`,
      `route add ${A.internetNet6} via ${A.proxyClientSide6}`,
      `route add ${A.targetNet6} via ${A.proxyClientSide6}`,
    );
    p.push(
      `addr add ${A.proxyClientSide6}/64 dev ${LAB_IFACE.proxyToClient} nodad`,
      `addr add ${A.proxyInternetSide6}/64 dev ${LAB_IFACE.proxyToInternet} nodad`,
      `route add ${A.targetNet6} via ${A.internet6}`,
    );
    i.push(
      `addr add ${A.internet6}/64 dev ${LAB_IFACE.internetToProxy} nodad`,
      `addr add ${A.extraTarget6}/128 dev lo nodad`,
    );
  }
  await Promise.all([
    run('ip', ['-n', client, '-batch', '-'], c.join('\n') + '\n'),
    run('ip', ['-n', proxy, '-batch', '-'], p.join('\n') + '\n'),
    run('ip', ['-n', internet, '-batch', '-'], i.join('\n') + '\n'),
  ]);
}
