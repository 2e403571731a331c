import type * as PromClient from 'prom-client';
import type { Registry } from 'prom-client';
import type { GroupHealth, MemberHealth } from '../adapter/upstream-health.js';

type Read = () => readonly GroupHealth[] | undefined;

/** One series per group member, read from the groups' health at scrape time. */
const MEMBER_SERIES: readonly { name: string; help: string; kind: 'Gauge' | 'Counter'; value: (m: MemberHealth) => number | undefined }[] = [
  { name: 'socksgate_group_member_up', help: '1 when the member takes new TCP flows, 0 when it is down', kind: 'Gauge', value: (m) => (m.state === 'up' ? 1 : 0) },
  { name: 'socksgate_group_member_udp_up', help: '1 when the member may carry UDP (up or not tried yet), 0 when its UDP failed or it refuses UDP ASSOCIATE', kind: 'Gauge', value: (m) => (m.udp === 'up' || m.udp === 'unknown' ? 1 : 0) },
  { name: 'socksgate_group_member_state_since_seconds', help: 'Unix time since which the member has been in its state', kind: 'Gauge', value: (m) => m.since / 1000 },
  { name: 'socksgate_group_member_handshake_seconds', help: 'Average (EWMA) handshake time through the member', kind: 'Gauge', value: (m) => (m.latencyMs === undefined ? undefined : m.latencyMs / 1000) },
  { name: 'socksgate_group_member_active_flows', help: 'TCP flows relayed through the member now', kind: 'Gauge', value: (m) => m.activeFlows },
  { name: 'socksgate_group_member_failures_total', help: 'Dials and probes through the member that failed because of it', kind: 'Counter', value: (m) => m.failures },
  { name: 'socksgate_group_member_failovers_total', help: 'Flows that failed on the member and went on to the next one', kind: 'Counter', value: (m) => m.failovers },
];

/** Registers the per-member series of every group (`socksgate status` shows the same). */
export function registerGroupMetrics(prom: typeof PromClient, registry: Registry, read: Read): void {
  for (const series of MEMBER_SERIES) {
    new prom[series.kind]({
      name: series.name,
      help: series.help,
      labelNames: ['group', 'member'],
      registers: [registry],
      collect() {
        this.reset();
        for (const group of read() ?? []) {
          for (const member of group.members) {
            const value = series.value(member);
            if (value === undefined) continue;
            const labels = { group: group.name, member: member.name };
            if ('set' in this) this.set(labels, value);
            else this.inc(labels, value);
          }
        }
      },
    });
  }
}
