import type { IpFamily } from '../core/cidr.js';
import { usesPolicyRouting, type FirewallPlan } from './plan.js';
import { assertRouteTableUsable, ROUTE_METRIC, ROUTING_PROTOCOL } from './route-table.js';
import type { Step } from './step.js';

/**
 * The policy routing TPROXY needs: marked packets are delivered to a local socket. Everything here
 * carries socksgate's protocol number (see route-table.ts), so deletes find only what it added.
 */

const FLAG: Record<IpFamily, string> = { ipv4: '-4', ipv6: '-6' };
const ANY: Record<IpFamily, string> = { ipv4: '0.0.0.0/0', ipv6: '::/0' };
const FAMILIES: readonly IpFamily[] = ['ipv4', 'ipv6'];

/** The route tables' current routes, per family, as `ip -N -d -j route show table N` lists them. */
export type RouteTables = Readonly<Record<IpFamily, string | undefined>>;

function ruleArgs(plan: Pick<FirewallPlan, 'fwmark' | 'routeTable'>, family: IpFamily, verb: 'add' | 'del'): string[] {
  const mark = `0x${plan.fwmark.toString(16)}`;
  return [FLAG[family], 'rule', verb, 'fwmark', `${mark}/${mark}`, 'lookup', String(plan.routeTable), 'protocol', String(ROUTING_PROTOCOL)];
}

function routeArgs(plan: Pick<FirewallPlan, 'routeTable'>, family: IpFamily, verb: 'add' | 'del'): string[] {
  const tag = ['proto', String(ROUTING_PROTOCOL), 'metric', String(ROUTE_METRIC)];
  return [FLAG[family], 'route', verb, 'local', ANY[family], 'dev', 'lo', 'table', String(plan.routeTable), ...tag];
}

/** Removes our rule and route in both families (`ip rule add` is not idempotent: delete every copy). */
export function routingFlushSteps(plan: Pick<FirewallPlan, 'fwmark' | 'routeTable'>): Step[] {
  return FAMILIES.flatMap((family) => [
    { cmd: 'ip', args: ruleArgs(plan, family, 'del'), untilFails: true },
    { cmd: 'ip', args: routeArgs(plan, family, 'del'), mayFail: true },
  ]);
}

/** Throws FirewallError when a route table holds routes of others that would take marked packets elsewhere. */
export function routingApplySteps(plan: FirewallPlan, tables: RouteTables = { ipv4: undefined, ipv6: undefined }): Step[] {
  const steps = routingFlushSteps(plan);
  for (const f of plan.families.filter(usesPolicyRouting)) {
    assertRouteTableUsable(plan.routeTable, f.family, tables[f.family]);
    steps.push({ cmd: 'ip', args: ruleArgs(plan, f.family, 'add') }, { cmd: 'ip', args: routeArgs(plan, f.family, 'add') });
  }
  return steps;
}
