// DomainSet (src/route/match/domain-set.ts): exact names, suffixes and keywords of domain rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DomainSet } from '../../../src/route/match/domain-set.js';

function setOf(kind: 'exact' | 'suffix' | 'keyword', ...names: string[]): DomainSet {
  const set = new DomainSet();
  for (const name of names) {
    if (kind === 'exact') set.addExact(name);
    else if (kind === 'suffix') set.addSuffix(name);
    else set.addKeyword(name);
  }
  return set;
}

test('a suffix matches the name and every name under it, never a name that merely ends the same', () => {
  const set = setOf('suffix', 'example.com');
  for (const hit of ['example.com', 'a.example.com', 'a.b.example.com']) assert.ok(set.has(hit), hit);
  for (const miss of ['badexample.com', 'example.com.evil', 'com', 'xample.com', 'a.badexample.com', 'example.co']) assert.ok(!set.has(miss), miss);
});

test('an exact name matches itself only, not the names under it', () => {
  const set = setOf('exact', 'ads.example');
  assert.ok(set.has('ads.example'));
  assert.ok(!set.has('a.ads.example') && !set.has('example') && !set.has('xads.example'));
});

test('a keyword matches anywhere in the name', () => {
  const set = setOf('keyword', 'tracker');
  assert.ok(set.has('tracker.example') && set.has('a.mytrackers.example') && set.has('x-tracker'));
  assert.ok(!set.has('track.example'));
});

test('case and the root\'s trailing dot do not matter, in the set or in the name asked', () => {
  const set = new DomainSet();
  set.addExact('Full.Example.');
  set.addSuffix('Corp.EXAMPLE.');
  set.addSuffix('.dotted.example');
  set.addKeyword('TrAcK');
  for (const hit of ['full.example', 'FULL.EXAMPLE.', 'corp.example', 'x.CORP.example.', 'dotted.example', 'a.dotted.example', 'ontrack.example']) assert.ok(set.has(hit), hit);
  assert.ok(!set.has('a.full.example'));
});

test('size counts every entry; an empty set matches nothing', () => {
  const set = new DomainSet();
  assert.ok(!set.has('example.com') && !set.has(''));
  set.addExact('a.example');
  set.addSuffix('b.example');
  set.addKeyword('c');
  assert.equal(set.size, 3);
});
