import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isTerminal } from '../../../src/core/log.js';

test('isTerminal: /dev/null, a file and a closed fd are no terminals (and need no node:tty)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'socksgate-tty-'));
  const devNull = openSync('/dev/null', 'w');
  const file = openSync(path.join(dir, 'log'), 'w');
  try {
    assert.equal(isTerminal(devNull), false);
    assert.equal(isTerminal(file), false);
  } finally {
    closeSync(devNull);
    closeSync(file);
    rmSync(dir, { recursive: true });
  }
  assert.equal(isTerminal(file), false);
});

test('isTerminal: a pseudo-terminal (util-linux script gives the child one) is one', () => {
  const program = `import('./src/core/log.ts').then((m) => process.stdout.write(m.isTerminal(1) ? 'terminal' : 'not a terminal'))`;
  const out = execFileSync('script', ['-qec', `node --import tsx -e ${JSON.stringify(program)}`, '/dev/null'], { encoding: 'utf8' });
  assert.match(out, /^terminal/);
});
