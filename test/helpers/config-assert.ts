import assert from 'node:assert/strict';
import { ConfigError } from '../../src/config/load.js';

/** The issues `fn` throws as a ConfigError, each as "path: message"; fails if it throws none. */
export function configIssues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected a ConfigError');
}
