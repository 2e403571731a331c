/** One upstream as `socksgate status` shows it. */
export interface UpstreamHealth {
  readonly name: string;
  readonly server: string;
  /** 'pipelined' | 'stepwise' | 'learning' (auto mode, not decided yet) | 'n/a' (one-request protocols). */
  readonly pipelining: string;
  readonly dials: number;
  readonly failures: number;
  readonly lastError?: { readonly reason: string; readonly message: string; readonly at: number };
}

/** One member of a group as status and metrics show it. */
export interface MemberHealth {
  readonly name: string;
  /** 'up' | 'down' for TCP flows. */
  readonly state: 'up' | 'down';
  /** Wall-clock ms since which `state` holds. */
  readonly since: number;
  /** Why it is down (the error code and message of the failure that took it down). */
  readonly why?: string;
  /** 'up' | 'down' | 'unsupported' (refuses UDP ASSOCIATE) | 'unknown' (never tried). */
  readonly udp: 'up' | 'down' | 'unsupported' | 'unknown';
  /** Handshake time EWMA in ms; undefined until a dial through it succeeded. */
  readonly latencyMs?: number;
  readonly activeFlows: number;
  readonly failures: number;
  /** Flows that failed on this member and were retried on the next one. */
  readonly failovers: number;
}

/** One group: its policy and members. */
export interface GroupHealth {
  readonly name: string;
  readonly policy: string;
  readonly members: readonly MemberHealth[];
}
