import assert from 'node:assert/strict';
import { CodecError } from '../../src/core/need-more.js';

/** Asserts that `fn` throws a CodecError with `code` (and passes the optional extra check). */
export function throwsCode(fn: () => unknown, code: string, check?: (e: CodecError) => void): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CodecError, `expected CodecError, got ${String(e)}`);
    assert.equal(e.code, code);
    check?.(e);
    return true;
  });
}
