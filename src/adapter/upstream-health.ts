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
