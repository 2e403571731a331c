import type { SocksAddr } from '../../core/addr.js';
import { CodecError, NEED_MORE, type NeedMore } from '../../core/need-more.js';
import type { SocksCommands } from './commands.js';
import { ProxyClientConn, type HandshakeDriver } from './proxy-client-conn.js';
import type { HandshakeContext, HandshakeResult, ServerSteps } from './handshake.js';
import { HttpSteps, httpRefusal } from './http.js';
import { protocolOf, type ProxyProtocol } from './protocol.js';
import { Socks4Steps } from './socks4.js';
import { Socks5Steps } from './socks5.js';
import type { SocksUsers } from './users.js';

const STEPS: Record<ProxyProtocol, new (c: HandshakeContext) => ServerSteps> = {
  socks5: Socks5Steps,
  socks4: Socks4Steps,
  http: HttpSteps,
};

/** What a client's handshake needs from its listener, and how the listener hears that it is over. */
export interface HandshakeListener {
  /** Replaced by a reload. */
  users: SocksUsers;
  readonly commands: SocksCommands;
  /** One deadline for the whole handshake, from accept to the request. */
  readonly handshakeMs: number;
  refuse(src: SocksAddr, reason: string, message: string, user?: string): void;
  /** Called once: the result, or why it failed (the client was answered or closed already). */
  ended(handshake: ClientHandshake, result: HandshakeResult | undefined, err?: unknown, protocol?: ProxyProtocol): void;
}

/**
 * One proxy client through its handshake: each arrival runs its protocol's steps (told by the first
 * byte) over what has come so far; no promise or timer per client, the deadline is the addon's.
 */
export class ClientHandshake implements HandshakeDriver, HandshakeContext {
  readonly client: ProxyClientConn;
  /** As they were when the client came: a reload applies to the next connection. */
  readonly users: SocksUsers;
  readonly commands: SocksCommands;
  private steps: ServerSteps | undefined;
  private protocol: ProxyProtocol | undefined;
  private over = false;

  /** Throws the addon's error when it cannot watch the fd; the fd is then still the caller's. */
  constructor(
    fd: number,
    readonly src: SocksAddr,
    private readonly listener: HandshakeListener,
  ) {
    this.users = listener.users;
    this.commands = listener.commands;
    this.client = new ProxyClientConn(fd, listener.handshakeMs, this);
  }

  refused(reason: string, message: string, user?: string): void {
    this.listener.refuse(this.src, reason, message, user);
  }

  advance(): void {
    if (this.over) return;
    let result: HandshakeResult | NeedMore;
    try {
      if (!this.steps) {
        const first = this.client.peek();
        if (first === undefined) return;
        this.protocol = protocolOf(first);
        if (!this.protocol) throw new CodecError('PROXY_UNKNOWN_PROTOCOL', 'neither SOCKS4, SOCKS5 nor an HTTP request');
        this.steps = new STEPS[this.protocol](this);
      }
      result = this.steps.advance();
    } catch (err) {
      this.fail(err);
      return;
    }
    if (result === NEED_MORE) return;
    this.over = true;
    // Nothing more is read here: what follows is the relay's.
    if (result.kind === 'connect') this.client.finish();
    this.listener.ended(this, result);
  }

  fail(err: unknown): void {
    if (this.over) return;
    this.over = true;
    const { client } = this;
    // A step that already wrote its last reply (REP 8) closes once that is flushed: not cut short here.
    if (!client.done) {
      const last = this.protocol === 'http' ? httpRefusal(err) : undefined;
      if (last) client.closeWith(last);
      else client.destroy();
    }
    this.listener.ended(this, undefined, err, this.protocol);
  }
}
