import { BlockList } from 'node:net';
import { isIP } from '../core/ip-literal.js';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { parseCidr } from '../core/cidr.js';
import type { RulesConfig } from '../config/schema.js';

/** Who besides this host may use the DNS listener. */
export interface DnsClientSources {
  /** Interfaces whose subnets are LAN (rules.lan_interfaces in router mode). */
  readonly lanInterfaces: readonly string[];
  /** Blocks allowed as they are (rules.lan_sources in router mode, and dns.allow_sources). */
  readonly cidrs: readonly string[];
}

/**
 * The LAN of router mode (rules.lan_interfaces, rules.lan_sources) plus dns.allow_sources. Router
 * mode needs a listener on 0.0.0.0/[::], which every side of the router reaches: the WAN side must
 * not get recursion through the proxy (an open resolver).
 */
export function dnsClientSources(rules: Pick<RulesConfig, 'mode' | 'lan_interfaces' | 'lan_sources'>, allowSources: readonly string[]): DnsClientSources {
  const router = rules.mode === 'router';
  return { lanInterfaces: router ? rules.lan_interfaces : [], cidrs: [...(router ? rules.lan_sources : []), ...allowSources] };
}

type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

// Link-local blocks exist on every interface, WAN ones too: an interface's fe80::/64 is no proof of LAN.
const isLinkLocal = (info: NetworkInterfaceInfo) => (info.family === 'IPv4' ? info.address.startsWith('169.254.') : /^fe[89ab]/i.test(info.address));

function addBlock(list: BlockList, cidr: string): void {
  const { family, text } = parseCidr(cidr);
  const [address, prefix] = text.split('/');
  list.addSubnet(address, Number(prefix), family);
}

/** Loopback, this host's own addresses, the subnets of the LAN interfaces and the given blocks. */
export function allowList(sources: DnsClientSources, interfaces: InterfaceTable): BlockList {
  const list = new BlockList();
  addBlock(list, '127.0.0.0/8');
  addBlock(list, '::1/128');
  for (const [name, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      addBlock(list, info.address);
      if (sources.lanInterfaces.includes(name) && !isLinkLocal(info) && info.cidr) addBlock(list, info.cidr);
    }
  }
  for (const cidr of sources.cidrs) addBlock(list, cidr);
  return list;
}

/** Interface addresses change (DHCP, an interface that comes up late): a refused source looks again after this. */
const REFRESH_MS = 1_000;

/** Whether a query's source may be answered; the interface table is read again at most once a second. */
export class DnsClientFilter {
  private list: BlockList;
  private builtAt: number;

  constructor(
    private readonly sources: DnsClientSources,
    private readonly readInterfaces: () => InterfaceTable = networkInterfaces,
    private readonly now: () => number = Date.now,
  ) {
    this.list = allowList(sources, readInterfaces());
    this.builtAt = now();
  }

  /** `address` as Node reports a peer: IPv4, IPv6, or IPv4-mapped IPv6 (a [::] listener's IPv4 peers). */
  allows(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (this.list.check(address, type)) return true;
    if (this.now() - this.builtAt < REFRESH_MS) return false;
    this.list = allowList(this.sources, this.readInterfaces());
    this.builtAt = this.now();
    return this.list.check(address, type);
  }
}
