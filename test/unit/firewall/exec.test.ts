import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FirewallError, runTool } from '../../../src/firewall/exec.js';

test('a tool killed by a signal is an error, never an answer such as "not installed"', () => {
  assert.throws(() => runTool('sh', ['-c', 'kill -TERM $$']), (err: unknown) => err instanceof FirewallError && /^sh -c kill -TERM \$\$ was killed by SIGTERM$/.test(err.message));
  assert.equal(runTool('sh', ['-c', 'exit 3']).ok, false);
});
