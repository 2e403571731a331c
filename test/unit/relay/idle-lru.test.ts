import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdleLru, type EvictReason } from '../../../src/relay/idle-lru.js';

function lru(max: number, idleMs: number) {
  let now = 0;
  const evicted: [string, number, EvictReason][] = [];
  const cache = new IdleLru<string, number>({ max, idleMs, now: () => now, onEvict: (k, v, r) => evicted.push([k, v, r]) });
  return { cache, evicted, tick: (ms: number) => (now += ms) };
}

test('idle-lru: full → the least recently used goes; get() refreshes', () => {
  const { cache, evicted } = lru(2, 1000);
  cache.set('a', 1);
  cache.set('b', 2);
  assert.equal(cache.get('a'), 1);
  cache.set('c', 3);
  assert.deepEqual(evicted, [['b', 2, 'lru']]);
  assert.equal(cache.size, 2);
  assert.equal(cache.peek('b'), undefined);
});

test('idle-lru: sweep evicts only entries idle for idleMs, oldest first', () => {
  const { cache, evicted, tick } = lru(10, 1000);
  cache.set('a', 1);
  tick(600);
  cache.set('b', 2);
  tick(400);
  assert.equal(cache.sweep(), 1);
  assert.deepEqual(evicted, [['a', 1, 'idle']]);
  tick(300);
  cache.get('b');
  tick(900);
  assert.equal(cache.sweep(), 0);
  tick(100);
  assert.equal(cache.sweep(), 1);
});

test('idle-lru: delete() is silent, clear() reports every entry; replacing does not evict', () => {
  const { cache, evicted } = lru(2, 1000);
  cache.set('a', 1);
  cache.set('a', 2);
  cache.set('b', 3);
  assert.equal(evicted.length, 0);
  assert.equal(cache.delete('a'), true);
  cache.clear();
  assert.deepEqual(evicted, [['b', 3, 'shutdown']]);
  assert.throws(() => new IdleLru({ max: 0, idleMs: 1, onEvict: () => {} }), RangeError);
});
