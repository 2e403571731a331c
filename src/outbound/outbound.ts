import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';

export interface DialContext {
  readonly flowId: number;
  /** Aborts the dial, e.g. when the client gives up first. */
  readonly signal?: AbortSignal;
}

/** A dialer: returns a stream to `dst` that is past any proxy handshake. */
export interface Outbound {
  readonly name: string;
  /** Where the outbound itself connects; flows to this address would loop through the proxy. */
  readonly server: SocksAddr;
  dial(dst: SocksAddr, ctx: DialContext): Promise<Socket>;
  /** Starts any background learning (e.g. the pipelining probe); optional. */
  start?(): void;
}

/** What every dialer needs from the daemon's settings. */
export interface DialSettings {
  readonly mark: number;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
}
