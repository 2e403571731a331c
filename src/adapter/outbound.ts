import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
import type { BindListener } from './bind.js';
import type { ChainLeg, DialPlan, LegCommand } from './handshake.js';
import type { UdpDialer } from './udp.js';

export interface DialContext {
  readonly flowId: number;
  /** Aborts the dial, e.g. when the client gives up first. */
  readonly signal?: AbortSignal;
  /**
   * The client's first bytes, being taken out of its socket ("optimistic data"; undefined: it sent
   * none in time). dial awaits them once connected, so the wait overlaps the TCP connect, and must
   * deliver them: in the handshake's write when it can, else right after the handshake.
   */
  readonly earlyData?: Promise<Buffer | undefined>;
  /**
   * Registers `fn` to run once when the flow of the socket dial returns has ended (its relay is
   * over), for outbounds that count their live flows (groups). Absent (probes, DNS transports):
   * the socket's 'close' is the end.
   */
  readonly whenEnded?: (fn: () => void) => void;
}

export interface BindContext extends DialContext {
  /** The local address the client reached the daemon on: where a direct BIND listens when the peer is unknown. */
  readonly localHost: string;
}

/**
 * One way out: `dial` returns a stream to `dst` that is past any proxy handshake; `associate`
 * (from UdpDialer) opens a UDP association, or rejects with SG_ERR_UDP_UNSUPPORTED.
 */
export interface Outbound extends UdpDialer {
  readonly name: string;
  /** Where the outbound itself connects; flows to this address would loop through the proxy. */
  readonly server: SocksAddr;
  dial(dst: SocksAddr, ctx: DialContext): Promise<Socket>;
  /**
   * The same dial as `dial` without early data, as data for the native dialer; undefined when it
   * needs Node (the server is a host name). Throws like `dial` when `dst` cannot go through this
   * outbound at all. Absent: always Node.
   */
  plan?(dst: SocksAddr): DialPlan | undefined;
  /**
   * Whether dial would now send early data in the same write as the handshake (the server is
   * known to read bytes sent right behind the request). Absent: never.
   */
  takesEarlyData?(): boolean;
  /** What it knows of the server's pipelining, for status. Absent: one-request protocols. */
  pipeliningState?(): 'pipelined' | 'stepwise' | 'learning';
  /**
   * It connects to destinations itself (direct): give it the address the client connected to,
   * not a name sniffed from the client's bytes. Absent: a proxy, which is asked for the name.
   */
  readonly dialsAddressItself?: boolean;
  /**
   * The address a destination name stands for, found as `dial` finds it (its resolver, its
   * errors), so a flow to a name can take `plan` to that address. Absent: a name is planned as is.
   */
  resolveAddress?(dst: SocksAddr): Promise<SocksAddr>;
  /**
   * Opens a BIND for a client that expects `peer` (its address may be 0.0.0.0 or port 0: any) to
   * connect back. Absent: the outbound cannot (the inbound answers "command not supported").
   */
  bind?(peer: SocksAddr, ctx: BindContext): Promise<BindListener>;
  /**
   * This outbound as a hop of a chain: its handshake for `command` to `dst`, to run over a stream
   * that already reaches its server. Throws an SgError when it cannot (SG_ERR_UDP_UNSUPPORTED for
   * UDP through a protocol without it). Absent: it cannot be a hop (direct, reject).
   */
  leg?(dst: SocksAddr, command: LegCommand): ChainLeg;
  /** Starts any background learning (e.g. the pipelining probe); optional. */
  start?(): void;
}

/** What every dialer needs from the daemon's settings. */
export interface DialSettings {
  readonly mark: number;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
}
