// src/native/memory.cc: what a burst leaves committed is given back, not merely collected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { releaseMemory } from '../../../src/native/index.js';

const MiB = 1024 * 1024;

test('releaseMemory unmaps the old-space pages a burst of garbage left committed', () => {
  let burst: { id: number; name: string }[] | null = [];
  for (let id = 0; id < 400_000; id++) burst.push({ id, name: `flow ${id}` });
  // a few survivors on every page, as long-lived flows leave them: a plain full GC keeps such
  // pages committed (measured on Node 20: 88 of 92 MiB stayed)
  const survivors = burst.filter((_, i) => i % 16 === 0);
  burst = null;
  const before = process.memoryUsage().heapTotal;
  releaseMemory();
  const after = process.memoryUsage().heapTotal;
  // survivors is read after the release, so it stays reachable through it
  assert.ok(before - after > 30 * MiB, `${survivors.length} survivors: heap committed ${(before / MiB).toFixed(1)} MiB before, ${(after / MiB).toFixed(1)} MiB after`);
});
