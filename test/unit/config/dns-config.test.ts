import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dnsOverrides, sniffOverrides } from '../../../src/cli/dns-options.js';
import { parseDnsUpstreamUrl } from '../../../src/config/dns-upstream-url.js';
import { loadConfig, validateConfig } from '../../../src/config/load.js';
import { configIssues } from '../../helpers/config-assert.js';

const base = { upstreams: ['socks5://192.0.2.1:1080'] };


test('dns and sniff default to off, with the documented defaults', () => {
  const config = validateConfig({ ...base });
  assert.equal(config.dns.listen, undefined);
  assert.deepEqual(config.dns.upstreams, []);
  assert.equal(config.dns.timeout_ms, 3000);
  assert.deepEqual(config.dns.cache, { size: 4096, max_bytes: 8 * 1024 * 1024, min_ttl_s: 0, max_ttl_s: 86_400, negative_ttl_s: 900 });
  assert.equal(config.dns.fake_ip.enabled, false);
  assert.deepEqual(config.dns.fake_ip.ranges, ['198.18.0.0/15', 'fc00::/18']);
  assert.deepEqual(config.sniff, { enabled: false, timeout_ms: 300 });
});

test('dns errors name their key: unknown keys, bad resolvers, missing resolvers, two ranges of a family', () => {
  assert.deepEqual(configIssues(() => validateConfig({ ...base, dns: { cache: { sise: 1 } } })), ['dns.cache.sise: unknown key']);
  assert.match(configIssues(() => validateConfig({ ...base, dns: { listen: '127.0.0.1:53', upstreams: ['https://9.9.9.9'] } }))[0], /^dns\.upstreams\.0: .*expected tcp:\/\/ or udp:\/\//);
  assert.match(configIssues(() => validateConfig({ ...base, dns: { listen: '127.0.0.1:53' } }))[0], /^dns\.upstreams: a DNS listener needs/);
  assert.match(configIssues(() => validateConfig({ ...base, dns: { fake_ip: { ranges: ['198.18.0.0/15', '10.0.0.0/8'] } } }))[0], /^dns\.fake_ip\.ranges: at most one range per address family/);
  assert.match(configIssues(() => validateConfig({ ...base, dns: { fake_ip: { ranges: ['198.18.0.0/40'] } } }))[0], /^dns\.fake_ip\.ranges\.0: /);
  assert.match(configIssues(() => validateConfig({ ...base, dns: { fake_ip: { ttl_s: 60, reuse_after_s: 30 } } }))[0], /^dns\.fake_ip\.reuse_after_s: must be at least ttl_s \(60\)/);
  assert.deepEqual(configIssues(() => validateConfig({ ...base, sniff: { enable: true } })), ['sniff.enable: unknown key']);
});

test('flags override the file: --dns, --dns-upstream, --fake-ip (alone: the default pools), --sniff', () => {
  const config = loadConfig(undefined, {
    upstream: base.upstreams,
    dns: dnsOverrides({ dns: '127.0.0.53:53', dnsUpstream: ['tcp://198.51.100.2'], fakeIp: [], fakeIpState: '/var/lib/sg/fake.json', fakeIpExclude: ['lan'] }),
    sniff: sniffOverrides({ sniff: true, sniffTimeoutMs: 100 }),
  });
  assert.equal(config.dns.listen, '127.0.0.53:53');
  assert.deepEqual(config.dns.upstreams, [{ transport: 'tcp', server: { kind: 'ipv4', host: '198.51.100.2', port: 53 } }]);
  assert.deepEqual(config.dns.fake_ip, { enabled: true, ranges: ['198.18.0.0/15', 'fc00::/18'], ttl_s: 1, size: 65_536, reuse_after_s: 600, state_file: '/var/lib/sg/fake.json', exclude: ['lan'], exclude_sources: [] });
  assert.deepEqual(config.sniff, { enabled: true, timeout_ms: 100 });
  assert.deepEqual(dnsOverrides({ fakeIp: ['10.64.0.0/10'] }), { fake_ip: { enabled: true, ranges: ['10.64.0.0/10'] } });
  assert.deepEqual(dnsOverrides({}), {});
});

test('resolver URLs: tcp:// or udp://, port 53 by default, IPv6 in brackets', () => {
  assert.deepEqual(parseDnsUpstreamUrl('udp://198.51.100.2'), { transport: 'udp', server: { kind: 'ipv4', host: '198.51.100.2', port: 53 } });
  assert.deepEqual(parseDnsUpstreamUrl('tcp://9.9.9.9'), { transport: 'tcp', server: { kind: 'ipv4', host: '9.9.9.9', port: 53 } });
  assert.deepEqual(parseDnsUpstreamUrl('tcp://[2001:db8::53]:5353'), { transport: 'tcp', server: { kind: 'ipv6', host: '2001:db8::53', port: 5353 } });
  assert.deepEqual(parseDnsUpstreamUrl('TCP://dns.example/').server, { kind: 'domain', host: 'dns.example', port: 53 });
  assert.throws(() => parseDnsUpstreamUrl('9.9.9.9'), RangeError);
  assert.throws(() => parseDnsUpstreamUrl('tcp://9.9.9.9:0'), RangeError);
});

test('dns.rules: names or a list, then exactly one of upstreams or action: reject; via is direct or an upstream', () => {
  const dns = (rules: unknown[]) => ({ ...base, upstreams: [{ name: 'dante', url: 'socks5://192.0.2.1:1080' }], dns: { listen: '127.0.0.53:53', upstreams: ['tcp://9.9.9.9'], rules } });
  const config = validateConfig(dns([
    { domain_suffix: ['corp.example'], upstreams: ['udp://192.0.2.53'], via: 'direct' },
    { domain: ['a.example'], domain_keyword: ['tracker'], domain_file: '/etc/socksgate/block.txt', action: 'reject' },
    { domain: ['b.example'], upstreams: ['tcp://198.51.100.53'], via: 'dante' },
    { domain: ['c.example'], upstreams: ['tcp://198.51.100.53'] },
  ]));
  assert.deepEqual(config.dns.rules[0], { domain_suffix: ['corp.example'], upstreams: [{ transport: 'udp', server: { kind: 'ipv4', host: '192.0.2.53', port: 53 } }], via: 'direct' });
  assert.equal(config.dns.rules[1].action, 'reject');

  assert.deepEqual(configIssues(() => validateConfig(dns([{ domain: ['a.example'] }]))), ['dns.rules.0: give exactly one of upstreams (e.g. ["udp://192.0.2.53"]) or action: reject']);
  assert.deepEqual(configIssues(() => validateConfig(dns([{ domain: ['a.example'], upstreams: ['tcp://9.9.9.9'], action: 'reject' }]))), ['dns.rules.0: give exactly one of upstreams (e.g. ["udp://192.0.2.53"]) or action: reject']);
  assert.match(configIssues(() => validateConfig(dns([{ upstreams: ['tcp://9.9.9.9'] }])))[0], /^dns\.rules\.0: a DNS rule needs at least one of domain, domain_suffix, domain_keyword, domain_file/);
  assert.deepEqual(configIssues(() => validateConfig(dns([{ domain: ['a.example'], action: 'reject', via: 'direct' }]))), ['dns.rules.0.via: via says how the rule\'s upstreams are reached: give upstreams too']);
  assert.deepEqual(configIssues(() => validateConfig(dns([{ domain: ['a.example'], upstreams: ['tcp://9.9.9.9'], via: 'backup' }]))), ['dns.rules.0.via: no upstream, group or chain is named "backup" (known: dante); or direct']);
  assert.deepEqual(configIssues(() => validateConfig(dns([{ domain: ['a.example'], upstreams: ['tcp://dns.example'], via: 'direct' }]))), ['dns.rules.0.upstreams: a resolver reached direct needs an IP address: its name would need a resolver first']);
  assert.match(configIssues(() => validateConfig(dns([{ domain: ['a.example'], action: 'drop' }])))[0], /^dns\.rules\.0\.action: /);
  assert.deepEqual(configIssues(() => validateConfig(dns([{ domain: ['a.example'], action: 'reject', port: [53] }]))), ['dns.rules.0.port: unknown key']);
  assert.deepEqual(configIssues(() => validateConfig({ ...base, dns: { rules: [{ domain: ['a.example'], action: 'reject' }] } })), ['dns.rules: split DNS rules need a DNS listener (dns.listen) to answer with them']);
});

test('dns.fake_ip.exclude_sources: CIDRs or addresses', () => {
  assert.deepEqual(validateConfig({ ...base, dns: { fake_ip: { exclude_sources: ['198.51.100.7/32', '2001:db8::7'] } } }).dns.fake_ip.exclude_sources, ['198.51.100.7/32', '2001:db8::7']);
  assert.match(configIssues(() => validateConfig({ ...base, dns: { fake_ip: { exclude_sources: ['pihole'] } } }))[0], /^dns\.fake_ip\.exclude_sources\.0: /);
});
