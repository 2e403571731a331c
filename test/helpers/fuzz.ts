/**
 * The fuzz suite's shared rules (test/property/fuzz-*.test.ts): how many inputs each property
 * tries, what counts as a typed failure, and the split-anywhere check every stream decoder passes.
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { CodecError, NEED_MORE, type Decoded } from '../../src/core/need-more.js';
import { bytes } from './codec-arbitraries.js';

/**
 * Inputs per property in CI (`npm test`): with the slow targets (handshakes, the DNS handler, the
 * config loader) at 500-1,000, the whole fuzz suite stays within a minute on two busy cores.
 */
export const CI_RUNS = 2_000;

/**
 * fast-check parameters for one fuzz property. SG_FUZZ_RUNS sets the number of inputs for every
 * property (scripts/fuzz: 1,000,000); without it a property runs `ciRuns`. SG_FUZZ_SEED replays a
 * run that failed (fast-check prints the seed and path).
 */
export function fuzzRuns(ciRuns = CI_RUNS): fc.Parameters<unknown> {
  const runs = Number(process.env.SG_FUZZ_RUNS ?? ciRuns);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new RangeError(`SG_FUZZ_RUNS must be a positive integer, got ${process.env.SG_FUZZ_RUNS}`);
  const seed = process.env.SG_FUZZ_SEED === undefined ? undefined : Number(process.env.SG_FUZZ_SEED);
  return { numRuns: runs, ...(seed === undefined ? {} : { seed }) };
}

// ---- typed failures ----

type ErrorClass = abstract new (...args: never[]) => Error;

/** What a parser did with one input: a value, or the typed error it threw. */
export type Outcome<T> = { readonly value: T } | { readonly error: Error & { readonly code: string } };

/**
 * Runs `parse`; any error must be one of `typed` and carry a stable code (SCREAMING_SNAKE), else
 * the property fails with the stray error itself (a TypeError from a missed bounds check, say).
 */
export function outcomeOf<T>(parse: () => T, typed: readonly ErrorClass[] = [CodecError]): Outcome<T> {
  try {
    return { value: parse() };
  } catch (err) {
    if (!typed.some((type) => err instanceof type)) throw err;
    const code = (err as { code?: unknown }).code;
    assert.ok(typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code), `typed error without a stable code: ${String(err)}`);
    return { error: err as Error & { code: string } };
  }
}

// ---- stream decoders: typed errors, sane bytesRead, the same answer however the bytes arrive ----

export type StreamDecode = (buf: Buffer, offset: number) => Decoded<unknown>;

function decodeChecked(decode: StreamDecode, buf: Buffer, offset: number): Outcome<Decoded<unknown>> {
  const outcome = outcomeOf(() => decode(buf, offset));
  if ('value' in outcome && outcome.value !== NEED_MORE) {
    const { bytesRead } = outcome.value;
    assert.ok(Number.isInteger(bytesRead) && bytesRead >= 1 && bytesRead <= buf.length - offset, `bytesRead ${bytesRead} of ${buf.length - offset}`);
  }
  return outcome;
}

function describe(outcome: Outcome<unknown>): string {
  if ('error' in outcome) return outcome.error.code;
  const { value } = outcome;
  if (value === NEED_MORE) return 'NEED_MORE';
  if (typeof value === 'object' && value !== null && 'bytesRead' in value) return `a message of ${String(value.bytesRead)} bytes`;
  return JSON.stringify(value) ?? String(value);
}

/**
 * A parser fed a growing buffer (as every handshake driver and sniffer is fed) must never change its
 * mind: once a prefix decodes to a result other than NEED_MORE, or fails, the whole input gives that
 * same result or that same error. Otherwise the outcome would depend on how TCP split the stream.
 * `parse` returns the outcome for the first `n` bytes of `input`.
 */
export function assertSplitAnywhere(parse: (n: number) => Outcome<unknown>, length: number, cuts: readonly number[]): void {
  const whole = parse(length);
  for (const c of cuts) {
    const cut = c % (length + 1);
    const prefix = parse(cut);
    if ('value' in prefix && prefix.value === NEED_MORE) continue;
    const same =
      'error' in prefix ? 'error' in whole && whole.error.code === prefix.error.code
      : 'value' in whole && isDeepStrictEqual(whole.value, prefix.value);
    assert.ok(same, `the first ${cut} bytes gave ${describe(prefix)}, all ${length} of them ${describe(whole)}`);
  }
}

/** Random cut points for assertSplitAnywhere and split. */
export const cuts = fc.array(fc.nat(), { maxLength: 4 });

/** Cuts `buf` at the given points (any order, duplicates allowed) into consecutive chunks. */
export function split(buf: Buffer, at: readonly number[]): Buffer[] {
  const points = [...new Set(at.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let last = 0;
  for (const p of [...points, buf.length]) {
    chunks.push(buf.subarray(last, p));
    last = p;
  }
  return chunks;
}

/**
 * The fuzz property of a stream decoder: `inputs` (random and mutated messages) decoded at an
 * offset behind some leading bytes, then re-decoded from random prefixes (split-anywhere delivery).
 */
export function streamDecoderProperty(decode: StreamDecode, inputs: fc.Arbitrary<Buffer>): fc.IPropertyWithHooks<[Buffer, Buffer, number[]]> {
  return fc.property(inputs, bytes(4), cuts, (input, lead, at) => {
    const buf = Buffer.concat([lead, input]);
    assertSplitAnywhere((n) => decodeChecked(decode, buf.subarray(0, lead.length + n), lead.length), input.length, at);
  });
}
