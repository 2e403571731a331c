import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { quietSince, releaseMemoryAfterBursts } from '../../../src/relay/memory-after-bursts.js';
import { Sessions } from '../../../src/relay/sessions.js';

/** Fresh sessions watched for bursts, the collections asked for so far, and a way to open flows. */
function openingFlows() {
  const sessions = new Sessions();
  const asked = { collections: 0 };
  const release = releaseMemoryAfterBursts(sessions, () => asked.collections++);
  let id = 0;
  const open = (n: number) => {
    for (let i = 0; i < n; i++) sessions.add(++id, () => {});
  };
  return { sessions, asked, release, open, opened: () => id };
}

function withFlows(count: number): Sessions {
  const sessions = new Sessions();
  for (let id = 1; id <= count; id++) sessions.add(id, () => {});
  return sessions;
}

test('one collection once a burst of flows has ended and stayed ended for a check, then none until the next burst', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const sessions = withFlows(2_000);
    let collections = 0;
    const release = releaseMemoryAfterBursts(sessions, () => collections++);
    mock.timers.tick(5_000);
    assert.equal(collections, 0, 'still busy');
    for (let id = 1; id <= 2_000; id++) sessions.remove(id);
    mock.timers.tick(5_000);
    assert.equal(collections, 0, 'one quiet check is not enough');
    mock.timers.tick(5_000);
    assert.equal(collections, 1);
    assert.equal(sessions.peak, 0);
    mock.timers.tick(60_000);
    assert.equal(collections, 1, 'no burst since');
    release.stop();
  } finally {
    mock.timers.reset();
  }
});

test('no collection for a small peak, or while most flows of the burst are still live', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let collections = 0;
    const small = withFlows(500);
    for (let id = 1; id <= 500; id++) small.remove(id);
    const a = releaseMemoryAfterBursts(small, () => collections++);
    const busy = withFlows(2_000);
    for (let id = 1; id <= 1_000; id++) busy.remove(id);
    const b = releaseMemoryAfterBursts(busy, () => collections++);
    mock.timers.tick(60_000);
    assert.equal(collections, 0);
    a.stop();
    b.stop();
  } finally {
    mock.timers.reset();
  }
});

test('one collection once a burst of openings has calmed down for a check while its flows stay, none for a trickle', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const { sessions, asked, release, open, opened } = openingFlows();
    open(1_200);
    mock.timers.tick(5_000);
    assert.equal(asked.collections, 0, 'still opening');
    open(50);
    mock.timers.tick(5_000);
    assert.equal(asked.collections, 0, 'one calm check is not enough');
    mock.timers.tick(5_000);
    assert.equal(asked.collections, 1, 'the flows stay; what opening them left behind goes');
    sessions.add(1, () => {}); // a stop replaced: not a flow opened
    mock.timers.tick(60_000);
    assert.equal(asked.collections, 1, 'no burst since');
    // 90 flows per check for a long time: a trickle, never a burst.
    for (let check = 0; check < 40; check++) {
      open(90);
      mock.timers.tick(5_000);
    }
    assert.equal(asked.collections, 1);
    assert.equal(sessions.added, opened());
    release.stop();
  } finally {
    mock.timers.reset();
  }
});

test('a burst of openings slowed down for a check still counts whole', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const { asked, release, open } = openingFlows();
    open(600);
    mock.timers.tick(5_000);
    open(50); // a slow check in the middle: not a pause
    mock.timers.tick(5_000);
    open(600);
    mock.timers.tick(5_000);
    assert.equal(asked.collections, 0, 'still opening');
    mock.timers.tick(10_000);
    assert.equal(asked.collections, 1, 'the 1,250 openings were one burst');
    release.stop();
  } finally {
    mock.timers.reset();
  }
});

test('one collection a second after start-up, whatever the flows', () => {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  try {
    let collections = 0;
    const release = releaseMemoryAfterBursts(withFlows(0), () => collections++, () => true);
    mock.timers.tick(999);
    assert.equal(collections, 0);
    mock.timers.tick(1);
    assert.equal(collections, 1);
    mock.timers.tick(60_000);
    assert.equal(collections, 1, 'no burst since');
    release.stop();
    const stoppedEarly = releaseMemoryAfterBursts(withFlows(0), () => collections++, () => true);
    stoppedEarly.stop();
    mock.timers.tick(5_000);
    assert.equal(collections, 1, 'stopped before the second');
  } finally {
    mock.timers.reset();
  }
});

test('the collection after start-up waits while the daemon is busy, and comes after its first quiet second', () => {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  try {
    let collections = 0;
    const quiet = [false, false, true];
    const release = releaseMemoryAfterBursts(withFlows(0), () => collections++, () => quiet.shift() ?? true);
    mock.timers.tick(1_000);
    assert.equal(collections, 0, 'busy in the first second');
    mock.timers.tick(1_000);
    assert.equal(collections, 0, 'still busy in the second');
    mock.timers.tick(1_000);
    assert.equal(collections, 1, 'quiet in the third');
    mock.timers.tick(60_000);
    assert.equal(collections, 1, 'once');
    release.stop();
  } finally {
    mock.timers.reset();
  }
});

test('a second is quiet when the activity count stood still and the loop mostly waited', () => {
  let done = 0;
  const worked = [0, 0, 0.5];
  const quiet = quietSince(() => done, () => worked.shift() ?? 0);
  done += 3;
  assert.equal(quiet(), false, 'three things happened');
  assert.equal(quiet(), true, 'nothing since');
  assert.equal(quiet(), false, 'nothing happened, but the loop worked half of the time');
});

test('the collection after start-up comes at the latest after a minute of traffic', () => {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  try {
    let collections = 0;
    const release = releaseMemoryAfterBursts(withFlows(0), () => collections++, () => false);
    for (let second = 1; second < 60; second++) mock.timers.tick(1_000); // one retry a second
    assert.equal(collections, 0);
    mock.timers.tick(1_000);
    assert.equal(collections, 1);
    release.stop();
  } finally {
    mock.timers.reset();
  }
});
