import { parseHostPort, type SocksAddr } from '../core/addr.js';
import type { DnsConfig, RulesConfig } from '../config/schema.js';
import { AnsweredNames } from '../dns/answered-names.js';
import { DnsCache } from '../dns/cache.js';
import { FakeIp } from '../dns/fake-ip.js';
import { FakeIpPool } from '../dns/fake-ip-pool.js';
import { FakeIpStore } from '../dns/fake-ip-store.js';
import { DnsHandler } from '../dns/handler.js';
import { parseIpBlock } from '../codec/ip-block.js';
import { splitDirectResolve } from '../dns/direct-resolve.js';
import { Resolver, type ResolverOptions } from '../dns/resolver.js';
import { TcpDnsTransport } from '../dns/tcp-transport.js';
import type { DnsTransport } from '../dns/transport.js';
import { UdpDnsTransport } from '../dns/udp-transport.js';
import { startDnsListener, type DnsListener } from '../inbound/dns.js';
import { DnsClientFilter, dnsClientSources } from '../inbound/dns-clients.js';
import type { Logger } from '../core/log.js';
import type { Outbound } from '../adapter/outbound.js';
import { systemResolve, type DirectResolve } from '../outbound/direct.js';
import { compileSplitDns } from '../route/dns-rules.js';
import { CidrSet } from '../route/match/cidr-set.js';

/** What carries the queries to one resolver: `via` (direct or an upstream) when a rule gives one, else the route's choice. */
export type DnsOutboundFor = (resolver: SocksAddr, via: string | undefined) => Outbound;

/** What the DNS service needs from the rest of the daemon. */
export interface DnsServiceDeps {
  /** The firewall rules' LAN settings: who may ask (see inbound/dns-clients.ts). */
  readonly rules: RulesConfig;
  readonly outboundFor: DnsOutboundFor;
  readonly log: Logger;
  readonly onAttempt?: ResolverOptions['onAttempt'];
  /** Whether an address is this host's own (see AnsweredNames). */
  readonly isLocal?: (host: string) => boolean;
}

export interface DnsService {
  /** Present in fake-IP mode: the TCP sessions' mapDestination. */
  readonly fakeIp: FakeIp | undefined;
  /** Present with a DNS listener: its counters feed the metrics. */
  readonly resolver: Resolver | undefined;
  /** Present with a DNS listener: how direct flows resolve names (through split DNS, see splitDirectResolve). */
  readonly directResolve: DirectResolve | undefined;
  /** Present with a DNS listener: the names it answered, per client, for route domain rules. */
  readonly answered: AnsweredNames | undefined;
  stop(): Promise<void>;
}

/** A DNS connection nobody used for this long is closed by us (servers drop idle ones anyway). */
const DNS_TCP_IDLE_MS = 30_000;

function startFakeIp(config: DnsConfig['fake_ip'], log: Logger): { fakeIp: FakeIp; store: FakeIpStore | undefined } {
  const pools = config.ranges.map((text) => new FakeIpPool(parseIpBlock(text), { capacity: config.size, reuseAfterMs: config.reuse_after_s * 1000 }));
  const store = config.state_file === undefined ? undefined : new FakeIpStore(config.state_file, pools, { log });
  const restored = store?.load() ?? 0;
  const excluded = config.exclude_sources.length > 0 ? CidrSet.of(config.exclude_sources) : undefined;
  const excludeSource = excluded && ((address: string) => excluded.has(address));
  const fakeIp = new FakeIp({ pools, ttlS: config.ttl_s, exclude: config.exclude, excludeSource, onChange: () => store?.changed(), log });
  log.info({ ranges: pools.map((p) => p.cidr.text), capacity: pools.map((p) => p.capacity), restored, stateFile: config.state_file }, 'fake-IP mode');
  return { fakeIp, store };
}

function dnsTransport(transport: 'tcp' | 'udp', server: SocksAddr, outbound: Outbound, config: DnsConfig): DnsTransport {
  if (transport === 'udp') return new UdpDnsTransport(server, outbound);
  return new TcpDnsTransport(server, outbound, { poolSize: config.tcp_pool_size, idleMs: DNS_TCP_IDLE_MS });
}

/**
 * The DNS server, its resolver (split by dns.rules) and the fake-IP pools, as configured.
 * `outboundFor` gives what carries the queries to one resolver. Loaded by startDnsService only
 * when DNS or fake-IP is on. Throws ConfigError (naming `file:line`) for a bad dns.rules list.
 */
export async function startDns(config: DnsConfig, { rules, outboundFor, log, onAttempt, isLocal }: DnsServiceDeps): Promise<DnsService> {
  const fake = config.fake_ip.enabled ? startFakeIp(config.fake_ip, log) : undefined;
  let listener: DnsListener | undefined;
  let resolver: Resolver | undefined;
  let directResolve: DirectResolve | undefined;
  let answered: AnsweredNames | undefined;
  if (config.listen !== undefined) {
    const split = compileSplitDns(config, (upstreams, via, id) => ({
      id,
      direct: via === 'direct',
      transports: upstreams.map(({ transport, server }) => dnsTransport(transport, server, outboundFor(server, via), config)),
    }));
    const cache = new DnsCache({ size: config.cache.size, maxBytes: config.cache.max_bytes, minTtlS: config.cache.min_ttl_s, maxTtlS: config.cache.max_ttl_s, maxNegativeTtlS: config.cache.negative_ttl_s });
    resolver = new Resolver(split, cache, { timeoutMs: config.timeout_ms, onAttempt }, log);
    const fakeIp = fake?.fakeIp;
    directResolve = splitDirectResolve(resolver, split, { fallback: systemResolve, isFakeAddress: fakeIp && ((address) => fakeIp.nameOf(address) !== undefined) });
    answered = new AnsweredNames({ isLocal });
    listener = await startDnsListener(parseHostPort(config.listen), new DnsHandler(resolver, fakeIp, log, answered), new DnsClientFilter(dnsClientSources(rules, config.allow_sources)), log);
  }
  return {
    fakeIp: fake?.fakeIp,
    resolver,
    directResolve,
    answered,
    async stop() {
      listener?.close();
      resolver?.close();
      await fake?.store?.save().catch((err: Error) => log.error(`cannot save the fake-IP state: ${err.message}`));
    },
  };
}
