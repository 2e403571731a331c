// Fuzz: the config loader. Random objects, valid configs with keys set to random values or removed,
// and YAML-ish text (random token soup, or a valid file with its bytes mutated) give either a frozen
// config or a ConfigError whose every issue names its key path (or, for an unreadable file, the
// file), and no message ever shows a password. Never another exception.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, loadConfig, validateConfig, type Config } from '../../src/config/load.js';
import { fuzzRuns, outcomeOf } from '../helpers/fuzz.js';
import { mutated } from '../helpers/mutate.js';

const SECRET = 'pw-Secret-42';
// tmpfs when there is one: a million config files written to a disk would take most of the run.
const dir = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'sg-fuzz-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const passwordFile = path.join(dir, 'password');
writeFileSync(passwordFile, `${SECRET}\n`);
const ENV = { SG_FUZZ_PW: SECRET };

// ---- values: plausible ones for every key, and anything else ----

const address = fc.constantFrom('127.0.0.1:12345', '[::]:12347', '0.0.0.0:0', 'localhost:53', '[::1]', '192.0.2.1:65536', '::1:53');
const plainUrl = fc.constantFrom('socks5://192.0.2.1:1080', 'socks4a://me@proxy.lab.test', 'http://[2001:db8::1]:3128?pipelining=off', 'socks5://h:1?password_env=SG_FUZZ_PW', 'gopher://x');
/** URLs with the password in them go only where a URL belongs: an upstream. */
const upstreamUrl = fc.oneof(plainUrl, fc.constantFrom(`socks5://alice:${SECRET}@192.0.2.1:1080`, `http://bob:${SECRET}@198.51.100.1`, `socks4://u:${SECRET}@h`));
const scalar = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1, 53, 65535, 65536, 0xffffffff, 2 ** 53, Number.NaN, Infinity, -0, 1.5, ''),
  fc.constantFrom('auto', 'on', 'off', 'nft', 'router', 'info', 'json', 'copy', 'eth0', 'tcp://192.0.2.53', 'udp://[2001:db8::53]:5353'),
  fc.constantFrom('198.18.0.0/15', 'fc00::/18', '10.0.0.0/33', passwordFile, dir, '/nonexistent', 'SG_FUZZ_PW', 'NOPE', '__proto__'),
  address,
  plainUrl,
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
);
const KEYS = [
  'log', 'level', 'format', 'mark', 'relay', 'redirect', 'tproxy', 'upstreams', 'url', 'name', 'username', 'password', 'password_file',
  'password_env', 'pipelining', 'timeouts', 'connect_ms', 'rules', 'mode', 'lan_sources', 'bypass', 'dns', 'listen', 'cache', 'fake_ip',
  'enabled', 'ranges', 'sniff', 'optimistic_data', 'udp', 'workers', 'groups', 'members', 'policy', 'check', 'health', '__proto__', 'constructor', '0',
];
const { value: anyValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: scalar },
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), tie('value'), { maxKeys: 4 }),
  ),
}));

// ---- valid configs, then keys set to anything or removed ----

const upstream = fc.oneof(
  upstreamUrl,
  fc.record(
    {
      url: upstreamUrl,
      name: fc.constantFrom('a', 'b'),
      username: fc.constant('alice'),
      password: fc.constant(SECRET),
      password_file: fc.constantFrom(passwordFile, '/nonexistent'),
      password_env: fc.constantFrom('SG_FUZZ_PW', 'NOPE'),
      pipelining: fc.constantFrom('auto', 'on', 'off'),
    },
    { requiredKeys: ['url'] },
  ),
);
const validConfig = fc.record(
  {
    upstreams: fc.array(upstream, { minLength: 1, maxLength: 3 }),
    redirect: fc.array(address, { maxLength: 2 }),
    tproxy: fc.array(address, { maxLength: 2 }),
    mark: fc.nat(),
    workers: fc.integer({ min: 1, max: 4 }),
    log: fc.record({ level: fc.constantFrom('info', 'debug'), format: fc.constantFrom('json', 'auto') }),
    timeouts: fc.record({ connect_ms: fc.integer({ min: 1, max: 10_000 }), idle_s: fc.nat(600) }, { requiredKeys: [] }),
    rules: fc.record({ mode: fc.constantFrom('host', 'router', 'sidecar'), bypass: fc.constant(['192.0.2.0/24']), exclude_uids: fc.constant([0]) }, { requiredKeys: [] }),
    dns: fc.record(
      {
        listen: fc.constant('127.0.0.53:53'),
        upstreams: fc.constant(['tcp://192.0.2.53']),
        cache: fc.record({ size: fc.integer({ min: 1, max: 100 }) }),
        fake_ip: fc.record({ enabled: fc.boolean(), ranges: fc.constant(['198.18.0.0/15', 'fc00::/18']), exclude: fc.constant(['lan']) }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    ),
    sniff: fc.record({ enabled: fc.boolean(), timeout_ms: fc.nat(10_000) }),
    optimistic_data: fc.record({ enabled: fc.boolean() }),
    udp: fc.record({ timeout_s: fc.constantFrom(1, 60), max_associations: fc.constantFrom(1, 1024), send_source: fc.boolean() }, { requiredKeys: [] }),
    // Groups over the upstreams and each other: unknown members, duplicates and cycles come up often.
    groups: fc.array(
      fc.record(
        {
          name: fc.constantFrom('g', 'h', 'a', 'direct'),
          policy: fc.constantFrom('failover', 'round-robin', 'least-latency'),
          members: fc.array(fc.constantFrom('a', 'b', 'g', 'h', 'x'), { minLength: 1, maxLength: 3 }),
          check: fc.record({ tcp: fc.constantFrom('203.0.113.2:80', 'nope'), udp: fc.constant('203.0.113.2:53') }, { requiredKeys: ['tcp'] }),
        },
        { requiredKeys: ['name', 'members'] },
      ),
      { maxLength: 3 },
    ),
    health: fc.record({ fail_after: fc.integer({ min: 0, max: 5 }) }, { requiredKeys: [] }),
    route: fc.record({ final: fc.constantFrom('g', 'h', 'a', 'direct') }, { requiredKeys: [] }),
  },
  { requiredKeys: ['upstreams'] },
);

const PATHS: ReadonlyArray<ReadonlyArray<string | number>> = [
  ['upstreams'], ['upstreams', 0], ['upstreams', 0, 'url'], ['upstreams', 0, 'password'], ['upstreams', 1, 'password_file'], ['upstreams', 0, 'pipelining'],
  ['redirect'], ['redirect', 0], ['tproxy', 1], ['mark'], ['workers'], ['relay'], ['log'], ['log', 'level'], ['timeouts', 'connect_ms'],
  ['rules'], ['rules', 'lan_sources', 0], ['rules', 'fwmark'], ['rules', 'udp'], ['dns'], ['dns', 'listen'], ['dns', 'upstreams', 0],
  ['dns', 'cache'], ['dns', 'fake_ip'], ['dns', 'fake_ip', 'ranges'], ['dns', 'fake_ip', 'ranges', 1], ['dns', 'fake_ip', 'enabled'],
  ['sniff', 'timeout_ms'], ['optimistic_data'], ['udp', 'queue_bytes'], ['bogus'], ['dns', 'bogus'],
  ['groups'], ['groups', 0], ['groups', 0, 'members'], ['groups', 0, 'members', 1], ['groups', 1, 'name'], ['groups', 0, 'check'], ['health'],
];
const edit = fc.record({ path: fc.constantFrom(...PATHS), remove: fc.boolean(), value: anyValue });
type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

/** `config` with the value at `e.path` replaced by `e.value` (containers made on the way) or removed. */
function applyEdit(config: Record<string, unknown>, e: Edit): Record<string, unknown> {
  let node: Record<string | number, unknown> = config;
  for (const key of e.path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = typeof key === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  }
  const last = e.path[e.path.length - 1];
  if (e.remove) delete node[last];
  else node[last] = e.value;
  return config;
}

const edited = fc.tuple(validConfig, fc.array(edit, { maxLength: 3 })).map(([config, edits]) => edits.reduce(applyEdit, structuredClone(config) as Record<string, unknown>));
const randomTop = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), anyValue, { maxKeys: 6 });

/**
 * A config, or a ConfigError whose issues each name a key path (or the file) and, when `secret` is
 * given, never show it.
 */
function checkLoaded(load: () => Config, opts: { file?: string; secret?: string } = {}): void {
  const { file, secret } = opts;
  const outcome = outcomeOf(load, [ConfigError]);
  if ('value' in outcome) {
    assert.ok(Object.isFrozen(outcome.value) && outcome.value.upstreams.length >= 1);
    return;
  }
  const { issues } = outcome.error as ConfigError;
  assert.ok(issues.length >= 1, 'a ConfigError without issues');
  for (const issue of issues) {
    assert.ok(issue.message.length > 0, `no message at ${issue.path}`);
    assert.ok(issue.path !== '' || (file !== undefined && issue.message.includes(file)), `an issue names neither a key nor the file: ${issue.message}`);
    if (secret) assert.ok(!`${issue.path} ${issue.message}`.includes(secret), `the password shows: ${issue.path}: ${issue.message}`);
  }
}

test('fuzz config objects: a frozen config or a ConfigError naming key paths, never the password', () => {
  fc.assert(
    fc.property(fc.oneof({ weight: 3, arbitrary: edited }, randomTop), (raw) => checkLoaded(() => validateConfig(raw, ENV), { secret: SECRET })),
    fuzzRuns(1_000),
  );
});

// ---- YAML text ----

const yamlToken = fc.oneof(
  fc.constantFrom(...KEYS.map((k) => `${k}:`)),
  fc.constantFrom('\n', '\n  ', '\n    ', '\n- ', '- ', ' ', '\t', ': ', ', ', '[', ']', '{', '}', '"', "'", '#', '---\n', '...\n', '? ', '|', '>-'),
  fc.constantFrom('&a ', '*a', '<<: *a', '!!str ', '!!int ', '!!binary ', '!!set ', '!!map ', '!custom ', '%YAML 1.1\n', '\\x00', '\ufeff', '~', 'null'),
  fc.constantFrom('socks5://192.0.2.1:1080', '127.0.0.1:53', 'tcp://192.0.2.53', 'true', '0x10', '1e999', '.nan', '-.inf'),
  fc.string({ maxLength: 6 }),
);
const yamlSoup = fc.array(yamlToken, { maxLength: 40 }).map((tokens) => tokens.join(''));
// Serializing a config costs more than loading it, so the valid files are made once (block style,
// and flow style, which JSON is) and the mutations bring the variety.
const validFiles = fc.sample(edited, { numRuns: 200, seed: 42 }).flatMap((config) => [stringify(config), JSON.stringify(config)]);
const mutatedYaml = mutated(fc.constantFrom(...validFiles).map((text) => Buffer.from(text))).map((buf) => buf.toString('utf8'));

test('fuzz config files: YAML-ish text gives a frozen config or a ConfigError naming key paths or the file', async () => {
  const file = path.join(dir, 'config.yaml');
  // yaml reports odd tags and aliases through process.emitWarning (on the next tick); Node's printer
  // would flood the output, so it is away until they have all been emitted.
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  try {
    fc.assert(
      fc.property(fc.oneof(yamlSoup, mutatedYaml), (text) => {
        writeFileSync(file, text);
        // A mutation can move the password anywhere (into a key, say), so only the typed error is checked.
        checkLoaded(() => loadConfig(file, {}, ENV), { file });
      }),
      fuzzRuns(500),
    );
  } finally {
    await new Promise((resolve) => setImmediate(resolve));
    printers.forEach((printer) => process.on('warning', printer));
  }
});
