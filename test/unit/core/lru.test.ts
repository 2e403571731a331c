import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lru } from '../../../src/core/lru.js';

test('lru: full → set() evicts and returns the least recently used; get() refreshes, peek() does not', () => {
  const lru = new Lru<string, number>(2);
  assert.equal(lru.set('a', 1), undefined);
  assert.equal(lru.set('b', 2), undefined);
  assert.equal(lru.get('a'), 1);
  assert.equal(lru.peek('b'), 2);
  assert.deepEqual(lru.set('c', 3), ['b', 2]);
  assert.equal(lru.size, 2);
  assert.equal(lru.get('b'), undefined);
  assert.deepEqual([...lru.entries()], [['a', 1], ['c', 3]]);
});

test('lru: replacing refreshes without evicting; oldest() and delete()', () => {
  const lru = new Lru<string, number>(2);
  lru.set('a', 1);
  lru.set('b', 2);
  assert.equal(lru.set('a', 10), undefined);
  assert.deepEqual(lru.oldest(), ['b', 2]);
  assert.equal(lru.delete('b'), true);
  assert.equal(lru.delete('b'), false);
  assert.deepEqual(lru.oldest(), ['a', 10]);
  lru.delete('a');
  assert.equal(lru.oldest(), undefined);
});

test('lru: a capacity below 1 or not an integer is refused', () => {
  assert.throws(() => new Lru(0), RangeError);
  assert.throws(() => new Lru(1.5), RangeError);
});
