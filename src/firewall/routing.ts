import type { IpFamily } from '../core/cidr.js';
import { usesPolicyRouting, type FirewallPlan } from './plan.js';
import type { Step } from './step.js';

/** The policy routing TPROXY needs: marked packets are delivered to a local socket. */

const FLAG: Record<IpFamily, string> = { ipv4: '-4', ipv6: '-6' };
const ANY: Record<IpFamily, string> = { ipv4: '0.0.0.0/0', ipv6: '::/0' };
const FAMILIES: readonly IpFamily[] = ['ipv4', 'ipv6'];

function ruleArgs(plan: Pick<FirewallPlan, 'fwmark' | 'routeTable'>, family: IpFamily, verb: 'add' | 'del'): string[] {
  const mark = `0x${plan.fwmark.toString(16)}`;
  return [FLAG[family], 'rule', verb, 'fwmark', `${mark}/${mark}`, 'lookup', String(plan.routeTable)];
}

function routeArgs(plan: Pick<FirewallPlan, 'routeTable'>, family: IpFamily, verb: 'replace' | 'del'): string[] {
  return [FLAG[family], 'route', verb, 'local', ANY[family], 'dev', 'lo', 'table', String(plan.routeTable)];
}

/** Removes our rule and route in both families (`ip rule add` is not idempotent: delete every copy). */
export function routingFlushSteps(plan: Pick<FirewallPlan, 'fwmark' | 'routeTable'>): Step[] {
  return FAMILIES.flatMap((family) => [
    { cmd: 'ip', args: ruleArgs(plan, family, 'del'), untilFails: true },
    { cmd: 'ip', args: routeArgs(plan, family, 'del'), mayFail: true },
  ]);
}

export function routingApplySteps(plan: FirewallPlan): Step[] {
  const steps = routingFlushSteps(plan);
  for (const f of plan.families.filter(usesPolicyRouting)) {
    steps.push({ cmd: 'ip', args: ruleArgs(plan, f.family, 'add') }, { cmd: 'ip', args: routeArgs(plan, f.family, 'replace') });
  }
  return steps;
}
