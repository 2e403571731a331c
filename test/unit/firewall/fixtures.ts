import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_REDIRECT, validateConfig } from '../../../src/config/load.js';
import { configIssues } from '../../helpers/config-assert.js';
import { planFromConfig } from '../../../src/firewall/from-config.js';
import type { FirewallPlan } from '../../../src/firewall/plan.js';

const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');

/** A plan through the real config path: schema, defaults, then the planner. */
export function planOf(raw: Record<string, unknown>): FirewallPlan {
  const listeners = raw.redirect === undefined && raw.tproxy === undefined ? { redirect: [DEFAULT_REDIRECT] } : {};
  return planFromConfig(validateConfig({ upstreams: ['socks5://192.0.2.1:1080'], mark: 2, ...listeners, ...raw }));
}

export function planIssues(raw: Record<string, unknown>): string[] {
  return configIssues(() => planOf(raw));
}

/** The three modes the golden files cover, each with its typical listeners. */
export const MODES: Record<string, Record<string, unknown>> = {
  host: { tproxy: ['[::]:12347'], rules: { mode: 'host', bypass: ['198.51.100.0/25'], bypass_ports: [22], exclude_uids: [999] } },
  router: { tproxy: ['[::]:12347'], dns: { listen: '[::]:53', upstreams: ['tcp://198.51.100.2:53'] }, rules: { mode: 'router', lan_interfaces: ['lan0'], lan_sources: ['203.0.113.128/26', '2001:db8:4::/64'] } },
  sidecar: { redirect: ['127.0.0.1:12345', '[::1]:12345'], dns: { listen: '127.0.0.1:5353', upstreams: ['tcp://198.51.100.2:53'] }, rules: { mode: 'sidecar', exclude_gids: [1337] } },
};

/** Compares with test/unit/firewall/golden/<name>; SG_UPDATE_GOLDEN=1 rewrites the file. */
export function assertGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.SG_UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, 'utf8'), `golden ${name} differs (review, then SG_UPDATE_GOLDEN=1 to accept)`);
}
