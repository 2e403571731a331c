/**
 * Mutations of valid messages for the fuzz suite. Random bytes rarely get past a version byte;
 * a valid message with a few of these applied reaches the deep branches of a parser: the length
 * fields, the last byte of a field, the step from one part of a message to the next.
 */
import fc from 'fast-check';
import { bytes } from './codec-arbitraries.js';

export type Mutation =
  /** Keep the first `at` bytes. */
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'flip-bits'; readonly bits: readonly number[] }
  /** A byte set to a boundary value (0, 0x7f, 0x80, 0xff, ...). */
  | { readonly kind: 'set-byte'; readonly at: number; readonly value: number }
  /**
   * A length field forged: a u8 or u16 (big-endian) at `at` set to the bytes remaining after it,
   * plus `delta` (one short, exact, one over), or to zero or its maximum.
   */
  | { readonly kind: 'length'; readonly at: number; readonly width: 1 | 2; readonly value: 'zero' | 'max' | number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Buffer }
  | { readonly kind: 'delete'; readonly at: number; readonly count: number }
  | { readonly kind: 'append'; readonly bytes: Buffer };

const BOUNDARY_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0a, 0x0d, 0x20, 0x3a, 0x7f, 0x80, 0xc0, 0xfe, 0xff];

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip-bits' as const), bits: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('set-byte' as const), at: fc.nat(), value: fc.constantFrom(...BOUNDARY_BYTES) }),
  fc.record({
    kind: fc.constant('length' as const),
    at: fc.nat(),
    width: fc.constantFrom(1 as const, 2 as const),
    value: fc.oneof(fc.constantFrom('zero' as const, 'max' as const), fc.integer({ min: -2, max: 2 })),
  }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: bytes(8, 1) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: bytes(16, 1) }),
);

/** `buf` with `m` applied; `buf` itself is left alone. */
export function applyMutation(buf: Buffer, m: Mutation): Buffer {
  const pos = (n: number, size = buf.length) => (size === 0 ? 0 : n % size);
  switch (m.kind) {
    case 'truncate':
      return buf.subarray(0, m.at % (buf.length + 1));
    case 'flip-bits': {
      const out = Buffer.from(buf);
      if (out.length > 0) for (const bit of m.bits) out[pos(bit >> 3)] ^= 1 << (bit & 7);
      return out;
    }
    case 'set-byte': {
      const out = Buffer.from(buf);
      if (out.length > 0) out[pos(m.at)] = m.value;
      return out;
    }
    case 'length': {
      if (buf.length < m.width) return buf;
      const out = Buffer.from(buf);
      const at = pos(m.at, out.length - m.width + 1);
      const max = m.width === 1 ? 0xff : 0xffff;
      const remaining = out.length - at - m.width;
      const value = m.value === 'zero' ? 0 : m.value === 'max' ? max : Math.min(max, Math.max(0, remaining + m.value));
      if (m.width === 1) out[at] = value;
      else out.writeUInt16BE(value, at);
      return out;
    }
    case 'insert': {
      const at = m.at % (buf.length + 1);
      return Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
    }
    case 'delete': {
      const at = pos(m.at);
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.count)]);
    }
    case 'append':
      return Buffer.concat([buf, m.bytes]);
  }
}

/** Valid messages with one to three mutations applied in turn. */
export function mutated(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  return fc
    .tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([buf, mutations]) => mutations.reduce(applyMutation, buf));
}

/**
 * What a fuzz target is fed: random bytes, valid messages (with junk behind, sometimes), and
 * mutated valid messages, the last most often since they reach furthest.
 */
export function fuzzInputs(valid: fc.Arbitrary<Buffer>, maxRandom = 300): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 2, arbitrary: bytes(maxRandom) },
    { weight: 1, arbitrary: valid },
    { weight: 5, arbitrary: mutated(valid) },
  );
}
