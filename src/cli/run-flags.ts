import path from 'node:path';
import { LOG_LEVELS, RULES_BACKENDS, RULES_MODES } from '../config/schema.js';
import { RUN_RULES } from '../daemon/rules.js';

/**
 * `socksgate run`'s command line read without yargs, whose loading, option set-up and parse are
 * most of what a start spends in JavaScript. Only plain, valid command lines are read here; for
 * anything else (help, a flag it does not know, a value it would have to coerce, an invalid
 * choice…) the reader answers `undefined` and yargs parses the line as before, so every error text
 * and exit code stays yargs' own. test/unit/cli/run-flags.test.ts holds this table to the yargs
 * definition of `run` and the result to what yargs makes of the same line.
 */
export interface RunFlag {
  readonly kind: 'string' | 'strings' | 'number' | 'numbers' | 'boolean';
  readonly choices?: readonly string[];
  readonly alias?: string;
  /** yargs' `normalize`: the value goes through path.normalize. */
  readonly normalize?: boolean;
}

export const RUN_FLAGS: Readonly<Record<string, RunFlag>> = {
  config: { kind: 'string', alias: 'c', normalize: true },
  upstream: { kind: 'strings', alias: 'u' },
  redirect: { kind: 'strings' },
  tproxy: { kind: 'strings' },
  socks: { kind: 'strings' },
  mark: { kind: 'string' },
  relay: { kind: 'string', choices: ['splice', 'copy'] },
  'optimistic-data': { kind: 'boolean' },
  'optimistic-data-wait-ms': { kind: 'number' },
  workers: { kind: 'number' },
  'log-level': { kind: 'string', choices: LOG_LEVELS },
  dns: { kind: 'string' },
  'dns-upstream': { kind: 'strings' },
  'fake-ip': { kind: 'strings' },
  'fake-ip-state': { kind: 'string', normalize: true },
  'fake-ip-exclude': { kind: 'strings' },
  sniff: { kind: 'boolean' },
  'sniff-timeout-ms': { kind: 'number' },
  'udp-timeout': { kind: 'number' },
  'udp-max-associations': { kind: 'number' },
  'rules-backend': { kind: 'string', choices: RULES_BACKENDS },
  'rules-mode': { kind: 'string', choices: RULES_MODES },
  'lan-interface': { kind: 'strings' },
  'lan-source': { kind: 'strings' },
  bypass: { kind: 'strings' },
  'bypass-port': { kind: 'numbers' },
  'exclude-uid': { kind: 'numbers' },
  'exclude-gid': { kind: 'numbers' },
  'dns-capture': { kind: 'boolean' },
  udp: { kind: 'boolean' },
  control: { kind: 'string' },
  metrics: { kind: 'string' },
  rules: { kind: 'string', choices: RUN_RULES },
};

export const RUN_DEFAULTS: Readonly<Record<string, unknown>> = { rules: 'off' };

/** Decimal integers as yargs writes them back (no sign, exponent, fraction or leading zero). */
const PLAIN_NUMBER = /^(0|[1-9]\d{0,14})$/;

const camelCase = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * The flags after `run` as yargs' handler would get them (camelCase keys, defaults filled in), or
 * undefined when the line is not one this reader takes as it is.
 */
export function readRunFlags(
  argv: readonly string[],
  flags: Readonly<Record<string, RunFlag>> = RUN_FLAGS,
  defaults: Readonly<Record<string, unknown>> = RUN_DEFAULTS,
): Record<string, unknown> | undefined {
  const byAlias = new Map<string, string>();
  for (const [name, flag] of Object.entries(flags)) if (flag.alias) byAlias.set(`-${flag.alias}`, name);
  const args: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else {
      name = byAlias.get(arg);
    }
    let negated = false;
    if (name !== undefined && !(name in flags) && name.startsWith('no-') && flags[name.slice(3)]?.kind === 'boolean') {
      name = name.slice(3);
      negated = true;
    }
    const flag = name === undefined || !Object.hasOwn(flags, name) ? undefined : flags[name]!;
    if (!flag || (negated && inline !== undefined)) return undefined;
    const key = camelCase(name!);
    if (flag.kind === 'boolean') {
      // `--sniff true` and `--sniff=false` are yargs' to read, like a flag given twice.
      const next = argv[i + 1];
      if (inline !== undefined || next === 'true' || next === 'false' || key in args) return undefined;
      args[key] = !negated;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) return undefined;
    }
    // yargs reads a leading dash as the next flag and strips matching quotes.
    if (/^[-'"]/.test(value)) return undefined;
    const many = flag.kind === 'strings' || flag.kind === 'numbers';
    // A list flag takes every plain word after it; a single one given twice becomes a list.
    if (many ? argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-') : key in args) return undefined;
    let parsed: string | number = value;
    if (flag.kind === 'number' || flag.kind === 'numbers') {
      if (!PLAIN_NUMBER.test(value)) return undefined;
      parsed = Number(value);
    } else if (flag.choices && !flag.choices.includes(value)) {
      return undefined;
    } else if (flag.normalize) {
      parsed = path.normalize(value);
    }
    if (many) ((args[key] ??= []) as unknown[]).push(parsed);
    else args[key] = parsed;
  }
  for (const [name, value] of Object.entries(defaults)) args[camelCase(name)] ??= value;
  return args;
}
