import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import dnsPacket, { type Question } from 'dns-packet';
import { pino } from 'pino';
import { ConfigError, validateConfig } from '../../../src/config/load.js';
import { DnsCache } from '../../../src/dns/cache.js';
import { FakeIp } from '../../../src/dns/fake-ip.js';
import { FakeIpPool } from '../../../src/dns/fake-ip-pool.js';
import { DnsHandler } from '../../../src/dns/handler.js';
import { Resolver } from '../../../src/dns/resolver.js';
import type { ResolverSet, SplitDns } from '../../../src/dns/split-dns.js';
import type { DnsTransport } from '../../../src/dns/transport.js';
import { parseIpBlock } from '../../../src/codec/ip-block.js';
import { compileSplitDns } from '../../../src/route/dns-rules.js';
import { CidrSet } from '../../../src/route/match/cidr-set.js';
import { answerData, wireAnswer } from '../../helpers/dns-wire.js';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'sg-split-dns-'));
const blockList = join(dir, 'block.txt');
writeFileSync(blockList, '# blocked\nfull:ads.example\nkeyword:tracker\nbad.example  # and every name under it\n');

/** A resolver that answers every A question with `address` (TTL 60) and counts what it was asked. */
function answering(name: string, address: string): DnsTransport & { asked: string[] } {
  return {
    name,
    asked: [],
    exchange(question: Question) {
      this.asked.push(question.name);
      const data = question.type === 'AAAA' ? '2001:db8::53' : address;
      return Promise.resolve(wireAnswer(question, { answers: [{ type: question.type as 'A', name: question.name, ttl: 60, data }] }));
    },
    close() {},
  };
}

const corp = answering('udp://192.0.2.53:53', '192.0.2.80');
const viaDante = answering('tcp://198.51.100.53:53', '198.51.100.80');
const fallback = answering('tcp://9.9.9.9:53', '203.0.113.80');
const transportsByServer = new Map([['192.0.2.53', corp], ['198.51.100.53', viaDante], ['9.9.9.9', fallback]]);

const config = validateConfig({
  upstreams: [{ name: 'dante', url: 'socks5://192.0.2.1:1080' }],
  dns: {
    listen: '127.0.0.53:53',
    upstreams: ['tcp://9.9.9.9'],
    rules: [
      { domain_suffix: ['corp.example'], upstreams: ['udp://192.0.2.53'], via: 'direct' },
      { domain_file: blockList, domain: ['ads.corp.example'], action: 'reject' },
      { domain_suffix: ['video.example'], upstreams: ['tcp://198.51.100.53'], via: 'dante' },
    ],
  },
});

function split(): { split: SplitDns; built: [string[], string | undefined, number][] } {
  const built: [string[], string | undefined, number][] = [];
  const result = compileSplitDns(config.dns, (upstreams, via, id): ResolverSet => {
    built.push([upstreams.map((u) => u.server.host), via, id]);
    return { id, direct: via === 'direct', transports: upstreams.map((u) => transportsByServer.get(u.server.host)!) };
  });
  return { split: result, built };
}

const newResolver = (s: SplitDns) => new Resolver(s, new DnsCache({ size: 100, maxBytes: 1 << 20, minTtlS: 0, maxTtlS: 3600, maxNegativeTtlS: 600 }), { timeoutMs: 1000 }, log);
const query = (name: string, type: 'A' | 'AAAA' = 'A') => dnsPacket.encode({ id: 7, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] });
const LAN_HOST = { host: '198.51.100.20', port: 40000 };

test('rule choice: first match wins; names compare without case or the root dot; no match, dns.upstreams', () => {
  const { split: s, built } = split();
  assert.deepEqual(built, [[['9.9.9.9'], undefined, 0], [['192.0.2.53'], 'direct', 1], [['198.51.100.53'], 'dante', 3]]);
  assert.deepEqual(s.sets.map((set) => [set.id, set.direct]), [[0, false], [1, true], [3, false]]);
  const target = (name: string) => {
    const { resolvers } = s.choose(name);
    return resolvers === 'reject' ? 'reject' : resolvers.id;
  };
  assert.equal(target('intranet.corp.example'), 1);
  assert.equal(target('CORP.Example.'), 1);
  assert.equal(target('ads.corp.example'), 1, 'the corp rule comes first');
  assert.equal(target('notcorp.example'), 0);
  assert.equal(target('ads.example'), 'reject');
  assert.equal(target('www.ads.example'), 0, 'full: matches that name only');
  assert.equal(target('a.b.bad.example'), 'reject');
  assert.equal(target('mytracker.net'), 'reject');
  assert.equal(target('cdn.video.example'), 3);
  assert.equal(s.choose('x.corp.example').rule, 'domain_suffix=[corp.example] → udp://192.0.2.53:53 via direct');
  assert.equal(s.choose('ads.example').rule, `domain=[ads.corp.example] or domain_file=${blockList} (3 entries) → reject`);
  assert.equal(s.choose('web.example').rule, 'dns.upstreams');
});

test('a bad dns.rules list is a ConfigError naming the key and file:line', () => {
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, 'good.example\n\nnot a name\n');
  const withBad = validateConfig({ upstreams: ['socks5://192.0.2.1:1080'], dns: { listen: '127.0.0.53:53', upstreams: ['tcp://9.9.9.9'], rules: [{ domain_file: bad, action: 'reject' }] } });
  assert.throws(
    () => compileSplitDns(withBad.dns, (_u, _v, id) => ({ id, direct: false, transports: [] })),
    (err: unknown) => err instanceof ConfigError && err.issues[0].path === 'dns.rules.0.domain_file' && err.issues[0].message.startsWith(`${bad}:3: "not a name"`),
  );
});

test('reject: NXDOMAIN from socksgate itself, before fake-IP; no resolver is asked and nothing is cached', async () => {
  const { split: s } = split();
  const resolver = newResolver(s);
  const fakeIp = new FakeIp({ pools: [new FakeIpPool(parseIpBlock('198.18.0.0/15'), { capacity: 16, reuseAfterMs: 0 })], ttlS: 1, exclude: [], log });
  const handler = new DnsHandler(resolver, fakeIp, log);
  const before = corp.asked.length + viaDante.asked.length + fallback.asked.length;
  for (const name of ['ads.example', 'x.bad.example', 'tracker.example']) {
    const reply = dnsPacket.decode((await handler.handle(query(name), 'udp', LAN_HOST))!);
    assert.equal(reply.rcode, 'NXDOMAIN', name);
    assert.deepEqual(reply.answers, []);
  }
  assert.equal(corp.asked.length + viaDante.asked.length + fallback.asked.length, before, 'no resolver was asked');
  assert.equal(fakeIp.nameOf('198.18.0.1')?.name, undefined, 'no pool address was given');
  assert.deepEqual([resolver.queries, resolver.rejected, resolver.cacheHits], [3, 3, 0]);
  assert.match(String(answerData(await handler.handle(query('web.example'), 'udp', LAN_HOST) as Buffer)), /^198\.18\./, 'other names still get pool addresses');
});

test('each name is answered by its rule\'s resolvers; direct answers are cached like the rest, apart from other sets\'', async () => {
  const { split: s } = split();
  const resolver = newResolver(s);
  const handler = new DnsHandler(resolver, undefined, log);
  const ask = async (name: string) => answerData((await handler.handle(query(name), 'tcp', LAN_HOST))!);
  const corpAsked = corp.asked.length;
  assert.deepEqual(await ask('git.corp.example'), ['192.0.2.80']);
  assert.deepEqual(await ask('GIT.corp.example'), ['192.0.2.80']);
  assert.equal(corp.asked.length, corpAsked + 1, 'the second answer came from the cache');
  assert.equal(resolver.cacheHits, 1);
  assert.deepEqual(await ask('cdn.video.example'), ['198.51.100.80']);
  assert.deepEqual(await ask('web.example'), ['203.0.113.80']);
  // The same question asked of another set (a direct flow's lookup) is not answered from this set's cache.
  const fallbackAsked = fallback.asked.length;
  await resolver.resolve({ name: 'git.corp.example', type: 'A', class: 'IN' }, s.sets[0]);
  assert.equal(fallback.asked.length, fallbackAsked + 1);
});

test('fake_ip.exclude_sources: those clients get real answers, everyone else pool addresses', async () => {
  const { split: s } = split();
  const excluded = CidrSet.of(['198.51.100.7/32', '2001:db8:7::/48']);
  const fakeIp = new FakeIp({ pools: [new FakeIpPool(parseIpBlock('198.18.0.0/15'), { capacity: 16, reuseAfterMs: 0 })], ttlS: 1, exclude: [], excludeSource: (a) => excluded.has(a), log });
  const handler = new DnsHandler(newResolver(s), fakeIp, log);
  const ask = async (host: string) => answerData((await handler.handle(query('web.example'), 'udp', { host, port: 5300 }))!);
  assert.deepEqual(await ask('198.51.100.7'), ['203.0.113.80']);
  assert.deepEqual(await ask('::ffff:198.51.100.7'), ['203.0.113.80'], 'an IPv4 client of a [::] listener');
  assert.deepEqual(await ask('2001:db8:7::1'), ['203.0.113.80']);
  assert.match(String(await ask('198.51.100.8')), /^198\.18\./);
});
