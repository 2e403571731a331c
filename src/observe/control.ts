import type { LiveFlow } from './flow-table.js';
import type { Logger } from '../core/log.js';
import type { GroupHealth, UpstreamHealth } from '../adapter/upstream-health.js';
import type { SocksAddr } from '../core/addr.js';

export const DEFAULT_CONTROL_PATH = '/run/socksgate/control.sock';

/** Where the daemon listens and whom it dials, as its config says: what `socksgate exec` diverts to. */
export interface DaemonEndpoints {
  readonly redirect: readonly SocksAddr[];
  readonly tproxy: readonly SocksAddr[];
  readonly dns?: SocksAddr;
  /** The SO_MARK on the daemon's own sockets. */
  readonly mark: number;
  readonly upstreams: readonly SocksAddr[];
}

/** What one connection to the control socket receives: a JSON line, then EOF. */
export interface StatusSnapshot {
  readonly pid: number;
  readonly now: number;
  readonly startedAt: number;
  readonly flows: readonly LiveFlow[];
  readonly upstreams: readonly UpstreamHealth[];
  /** Absent from daemons older than groups. */
  readonly groups?: readonly GroupHealth[];
  readonly udp?: { readonly associations: number; readonly replySockets: number };
  /** Absent from daemons older than `socksgate exec` asking for it. */
  readonly endpoints?: DaemonEndpoints;
}
