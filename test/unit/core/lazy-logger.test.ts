import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { LazyLogger } from '../../../src/core/lazy-logger.js';

function capturing(level: string) {
  const lines: Record<string, unknown>[] = [];
  let made = 0;
  const out = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) });
  const log = new LazyLogger(() => (made++, pino({ level: 'trace' }, out)), level);
  return { log, lines, made: () => made };
}

test('no pino logger is made while every line is below the level', () => {
  const { log, made } = capturing('warn');
  log.info('started');
  log.child({ component: 'dns' }).debug({ x: 1 }, 'quiet');
  assert.equal(log.isLevelEnabled('info'), false);
  assert.equal(log.isLevelEnabled('error'), true);
  assert.equal(log.isLevelEnabled('loud'), false);
  assert.equal(made(), 0);
});

test('the first line let through makes it once, with the level and the child’s bindings', () => {
  const { log, lines, made } = capturing('warn');
  const child = log.child({ component: 'dns' });
  child.warn({ n: 1 }, 'first');
  log.info('dropped');
  log.error('second');
  assert.equal(made(), 1);
  assert.deepEqual(lines.map((l) => [l.msg, l.component, l.n]), [['first', 'dns', 1], ['second', undefined, undefined]]);
  assert.equal(log.level, 'warn');
  assert.equal(child.level, 'warn');
});

test('a level set before or after the pino logger is made holds, each logger its own', () => {
  const { log, lines } = capturing('warn');
  const child = log.child({ component: 'udp' });
  log.level = 'debug';
  log.debug('now shown');
  child.debug('not shown: the child keeps the level it was made with');
  log.level = 'error';
  log.warn('not shown either');
  assert.deepEqual(lines.map((l) => l.msg), ['now shown']);
  assert.throws(() => (log.level = 'loud'));
});
