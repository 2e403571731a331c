import type { SocksAddr } from '../core/addr.js';
import type { NEED_MORE } from '../core/need-more.js';

/** What a handshake wants once it has read what the server sent so far. */
export type HandshakeProgress =
  /** Wait for more bytes. */
  | typeof NEED_MORE
  /** Write these, then wait for more (a step-by-step handshake's next message). */
  | { readonly send: Buffer }
  /** Complete: the first `done` bytes were the handshake's; any after them belong to the relay. */
  | { readonly done: number };

/**
 * A proxy handshake as a state machine without I/O, so one protocol implementation serves both
 * the Node socket driver and the native dialer: once connected, write `opening`; then, each time
 * more bytes arrive, call `advance` with every byte the server has sent since the start.
 * `advance` throws an SgError when the server refuses or sends bytes that do not parse.
 */
export interface Handshake {
  readonly opening: Buffer;
  /** What it waits for now, for error messages ("SOCKS5 method selection"). */
  readonly expecting: string;
  advance(received: Buffer): HandshakeProgress;
}

/**
 * One dial as data for the native dialer: where to connect, how, and the handshake to run there.
 * `settle` must be called once with the outcome (undefined: success) so the outbound learns from it.
 */
export interface DialPlan {
  /** An IP literal. */
  readonly server: SocksAddr;
  readonly mark: number;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly handshake: Handshake;
  settle(err: unknown): void;
  /**
   * After `settle(err)` for a dial that failed before the relay began: the plan to run next on the
   * same client (a group's next member; its optimistic bytes, if any, are the plan's own), or
   * undefined to reset the client. Absent: never retried, the addon resets the client itself.
   */
  retry?(): DialPlan | undefined;
  /** Called once when the relay of a plan that settled with success ends (a group counts its active flows). */
  closed?(): void;
}

/** What a leg of a chain asks its server for: a stream onward (CONNECT), or a UDP relay (SOCKS5 UDP ASSOCIATE). */
export type LegCommand = 'connect' | 'udp-associate';

/**
 * One outbound's handshake as one leg of a chain: it runs on a stream that already reaches
 * `server` (directly for the first leg, through the earlier legs for the others).
 */
export interface ChainLeg {
  readonly server: SocksAddr;
  readonly handshake: Handshake;
  /** The server reads bytes written right behind its request, so the next leg's may share the write. */
  readonly takesTrailingBytes: boolean;
  /** Once done, the address the server bound (UDP ASSOCIATE: its relay); undefined when it tells none. */
  bound(): SocksAddr | undefined;
  /** Called once with the leg's outcome (undefined: success), so the outbound learns from it. */
  settle(err: unknown): void;
}
