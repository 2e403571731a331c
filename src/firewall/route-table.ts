import type { IpFamily } from '../core/cidr.js';
import { FirewallError } from './exec.js';

/**
 * socksgate's policy routing next to others'. Its ip rules and routes carry their own protocol
 * number, so flush deletes exactly those even when someone else added identical ones, and its
 * route has a metric of its own, so it can sit next to someone else's identical
 * `local default dev lo` (metric 0 in IPv4, 1024 in IPv6 by default) instead of replacing it.
 * Any other route of someone else's in the table would divert marked packets elsewhere: apply
 * refuses to share the table with it. Pure.
 */

/** `protocol`/`proto` of socksgate's ip rules and routes: 83 (ASCII 'S'), unused in iproute2's rt_protos. */
export const ROUTING_PROTOCOL = 83;
/** Metric of socksgate's route. */
export const ROUTE_METRIC = 83;

/** A route as `ip -N -d -j route show table N` lists it (numeric type and protocol). */
interface ListedRoute {
  readonly type?: string;
  readonly dst?: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly protocol?: string;
  readonly metric?: number;
  readonly nexthops?: unknown;
}

const RTN_LOCAL = '2';

function isOurs(route: ListedRoute): boolean {
  return route.protocol === String(ROUTING_PROTOCOL);
}

/** The same local default route as ours, at a metric where ours still fits. */
function isCompatible(route: ListedRoute): boolean {
  const plain = route.gateway === undefined && route.nexthops === undefined;
  return route.type === RTN_LOCAL && route.dst === 'default' && route.dev === 'lo' && plain && (route.metric ?? 0) !== ROUTE_METRIC;
}

function describe(route: ListedRoute): string {
  const parts = [route.type === RTN_LOCAL ? `local ${route.dst}` : route.dst];
  if (route.gateway !== undefined) parts.push(`via ${route.gateway}`);
  if (route.dev !== undefined) parts.push(`dev ${route.dev}`);
  if (route.protocol !== undefined) parts.push(`proto ${route.protocol}`);
  if (route.metric !== undefined) parts.push(`metric ${route.metric}`);
  return parts.join(' ');
}

/**
 * Throws FirewallError when route table `table` (`listed`: its `ip -N -d -j route show` output)
 * holds a route socksgate did not add and cannot live with. `undefined`: the table could not be
 * read, so nothing is checked (socksgate's route is still only added, never replaces another).
 */
export function assertRouteTableUsable(table: number, family: IpFamily, listed: string | undefined): void {
  if (listed === undefined) return;
  let routes: ListedRoute[];
  try {
    routes = JSON.parse(listed) as ListedRoute[];
    if (!Array.isArray(routes)) throw new Error('not a list');
  } catch (err) {
    throw new FirewallError(`cannot read route table ${table} (${family}): ${(err as Error).message}`);
  }
  const foreign = routes.filter((route) => !isOurs(route) && !isCompatible(route));
  if (!foreign.length) return;
  throw new FirewallError(
    `route table ${table} (${family}) holds routes socksgate did not add (${foreign.map(describe).join('; ')}); ` +
      'socksgate will not replace them: set rules.route_table to a table nothing else uses',
  );
}
