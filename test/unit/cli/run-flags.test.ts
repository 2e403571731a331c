import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import yargs, { type Argv } from 'yargs';
import { runModule } from '../../../src/cli/run.js';
import { readRunFlags, RUN_DEFAULTS, RUN_FLAGS } from '../../../src/cli/run-flags.js';

interface YargsOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  array: string[];
  boolean: string[];
  number: string[];
  normalize: string[];
  choices: Record<string, string[] | undefined>;
  default: Record<string, unknown>;
}

const camelCase = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** What yargs hands `run`'s handler for this line, or the message it fails with. */
async function yargsRun(argv: readonly string[]): Promise<Record<string, unknown> | { failed: string }> {
  let args: Record<string, unknown> | undefined;
  let failed: string | undefined;
  await yargs(['run', ...argv])
    .command({ ...runModule, handler: (a) => void (args = a) })
    .strict()
    .fail((msg, err) => void (failed = msg ?? String(err)))
    .parseAsync();
  return failed !== undefined ? { failed } : args!;
}

/** The keys `run`'s handler reads: one per flag, camelCase. */
function flagValues(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(RUN_FLAGS).map(camelCase).filter((k) => args[k] !== undefined).map((k) => [k, args[k]]));
}

test('the table holds every flag of the yargs definition of run, with its type, alias, choices and default', () => {
  // getOptions() is yargs' own (untyped) view of what the builder declared.
  const built = (runModule.builder as (y: Argv) => Argv)(yargs([])) as Argv & { getOptions(): YargsOptions };
  const options = built.getOptions();
  const aliases = new Set(Object.values(options.alias).flat());
  const declared = Object.keys(options.key).filter((k) => k !== 'help' && k !== 'version' && !aliases.has(k));
  assert.deepEqual(declared.sort(), Object.keys(RUN_FLAGS).sort());
  for (const [name, flag] of Object.entries(RUN_FLAGS)) {
    const many = options.array.includes(name);
    const kind = options.boolean.includes(name) ? 'boolean' : options.number.includes(name) ? (many ? 'numbers' : 'number') : many ? 'strings' : 'string';
    assert.equal(flag.kind, kind, name);
    assert.deepEqual(flag.choices, options.choices[name], name);
    assert.deepEqual(flag.alias, options.alias[name]?.[0], name);
    assert.equal(Boolean(flag.normalize), options.normalize.includes(name), name);
    assert.equal(RUN_DEFAULTS[name], options.default[name], name);
  }
});

test('plain lines read as yargs reads them', async () => {
  const lines = [
    [],
    ['--upstream', 'socks5://192.0.2.1:1080', '--redirect', '127.0.0.1:12345'],
    ['-u', 'socks5://u:p@192.0.2.1:1080?password_env=X', '-u', 'http://192.0.2.2:3128', '--redirect=127.0.0.1:1', '--tproxy', '[::]:12347'],
    ['-c', './a/../etc/sg.yaml', '--log-level', 'debug', '--mark', '0x2', '--relay', 'copy', '--workers', '2', '--rules', 'auto'],
    ['--no-sniff', '--sniff-timeout-ms', '300', '--optimistic-data', '--optimistic-data-wait-ms=0', '--dns', '127.0.0.53:53', '--dns-upstream', 'tcp://192.0.2.53'],
    ['--fake-ip', '198.18.0.0/15', '--fake-ip-state', 'x//y', '--fake-ip-exclude', 'lan', '--fake-ip-exclude', 'local'],
    ['--rules-backend', 'nft', '--rules-mode', 'router', '--lan-interface', 'veth0', '--lan-source', '192.0.2.0/24', '--bypass', '203.0.113.0/24'],
    ['--bypass-port', '22', '--bypass-port', '443', '--exclude-uid', '0', '--exclude-gid', '1000', '--dns-capture', '--no-udp', '--udp-timeout', '60', '--udp-max-associations', '10'],
    ['--control', 'off', '--metrics', '9464', '--socks', '127.0.0.1:1080', '--redirect', ''],
  ];
  for (const line of lines) {
    const fast = readRunFlags(line);
    assert.ok(fast, `read: ${line.join(' ')}`);
    assert.deepEqual(fast, flagValues((await yargsRun(line)) as Record<string, unknown>), line.join(' '));
  }
});

test('lines that need yargs (help, errors, forms it alone reads) are left to it', () => {
  const lines = [
    ['--help'], ['-h'], ['--version'], ['--bogus'], ['stray'], ['--upstream'], ['--upstream', 'a', 'b'], ['--relay', 'nope'],
    ['--log-level', 'loud'], ['--workers', 'two'], ['--workers', '1e1'], ['--workers', '-1'], ['--workers', '01'], ['--mark', '1', '--mark', '2'],
    ['--sniff', 'true'], ['--sniff=false'], ['--sniff', '--sniff'], ['--no-upstream'], ['--no-sniff=1'], ['--upstream', '"quoted"'], ['--logLevel', 'debug'],
    ['-uc'], ['-u=x'], ['--'], ['--rules.mode', 'host'], ['--fake-ip'],
  ];
  for (const line of lines) assert.equal(readRunFlags(line), undefined, line.join(' '));
});

test('whatever the line, a read one is what yargs makes of it', async () => {
  const names = Object.keys(RUN_FLAGS);
  const token = fc.oneof(
    fc.constantFrom(...names.map((n) => `--${n}`), ...names.map((n) => `--no-${n}`), '-u', '-c', '-h', 'true', 'false', '--'),
    fc.constantFrom('0', '1', '22', '0x1f', '1.5', '-3', 'off', 'auto', 'copy', 'debug', 'nft', 'host', "'q'", 'a/../b', 'x=y', ''),
    fc.tuple(fc.constantFrom(...names), fc.constantFrom('1', 'copy', 'info', 'a b')).map(([n, v]) => `--${n}=${v}`),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(token, { maxLength: 6 }), async (line) => {
      const fast = readRunFlags(line);
      if (fast === undefined) return;
      const slow = await yargsRun(line);
      assert.ok(!('failed' in slow), `yargs failed on a line read without it: ${JSON.stringify(line)}: ${(slow as { failed: string }).failed}`);
      assert.deepEqual(fast, flagValues(slow), JSON.stringify(line));
    }),
    { numRuns: 400 },
  );
});
