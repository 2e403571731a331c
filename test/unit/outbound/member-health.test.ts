import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HealthState, type HealthSettings } from '../../../src/outbound/member-health.js';

function member(settings: Partial<HealthSettings> = {}) {
  const clock = { now: 1_000 };
  const health = new HealthState('a', { failAfter: 3, retryMs: 1_000, maxRetryMs: 8_000, ...settings }, () => clock.now);
  return { health, clock };
}

test('passive: down after failAfter failed dials in a row; a success in between starts the count again', () => {
  const { health, clock } = member();
  health.dialFailed('x');
  health.dialFailed('x');
  health.dialSucceeded(10);
  health.dialFailed('x');
  health.dialFailed('x');
  assert.equal(health.isUp, true);
  clock.now = 2_000;
  health.dialFailed('SG_ERR_CONNECT_TIMEOUT: slow');
  assert.deepEqual([health.view().state, health.view().since, health.view().why, health.view().failures], ['down', 2_000, 'SG_ERR_CONNECT_TIMEOUT: slow', 5]);
});

test('passive: a down member is tried again after a backoff that doubles per failed try, and is up after a trial that works', () => {
  const { health, clock } = member();
  for (let i = 0; i < 3; i++) health.dialFailed('x');
  assert.equal(health.usable(), false);
  clock.now += 1_000;
  assert.equal(health.usable(), true);
  health.dialFailed('x');
  clock.now += 1_999;
  assert.equal(health.usable(), false);
  clock.now += 1;
  assert.equal(health.usable(), true);
  for (let i = 0; i < 5; i++) health.dialFailed('x');
  clock.now += 7_999;
  assert.equal(health.usable(), false, 'the backoff stops at maxRetryMs');
  clock.now += 1;
  assert.equal(health.usable(), true);
  health.dialSucceeded(5);
  assert.equal(health.isUp, true);
  assert.equal(health.view().why, undefined);
});

test('active: a failed probe takes it down at once; only a passing probe brings it back; probes back off while down', () => {
  const { health, clock } = member({ probeIntervalMs: 30_000 });
  assert.equal(health.probeDue(), true, 'the first probe runs at once');
  health.probed(undefined, 12);
  assert.equal(health.probeDue(), false);
  clock.now += 30_000;
  assert.equal(health.probeDue(), true);
  health.probed('probe timed out');
  assert.deepEqual([health.isUp, health.usable()], [false, false]);
  clock.now += 1_000;
  assert.equal(health.probeDue(), true);
  assert.equal(health.usable(), false, 'with probes, flows wait for a passing probe');
  health.probed('again');
  clock.now += 1_999;
  assert.equal(health.probeDue(), false);
  clock.now += 1;
  health.probed(undefined, 20);
  assert.deepEqual([health.isUp, health.usable(), health.probeDue()], [true, true, false]);
});

test('upFor: a member that never went down is settled; one that came back only after the given time', () => {
  const { health, clock } = member({ probeIntervalMs: 5_000 });
  assert.equal(health.upFor(60_000), true);
  health.probed('down');
  clock.now += 1_000;
  health.probed(undefined, 1);
  assert.equal(health.upFor(2_000), false);
  clock.now += 2_000;
  assert.equal(health.upFor(2_000), true);
});

test('latency is an average of handshake times that leans to the newest', () => {
  const { health } = member();
  health.dialSucceeded(100);
  health.dialSucceeded(200);
  assert.equal(health.latency, 130);
});

test('UDP: separate from TCP; a member that refuses UDP ASSOCIATE never carries UDP, one whose UDP failed waits', () => {
  const { health, clock } = member();
  assert.equal(health.usableForUdp(), true);
  health.udpSeen('unsupported');
  assert.deepEqual([health.usable(), health.usableForUdp()], [true, false]);
  clock.now += 1_000_000;
  assert.equal(health.usableForUdp(), false);
  const other = member();
  other.health.udpSeen('down');
  assert.equal(other.health.usableForUdp(), false);
  other.clock.now += 8_000;
  assert.equal(other.health.usableForUdp(), true);
});
