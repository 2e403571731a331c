import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
import { ErrorCode, errorCode } from '../core/errors.js';
import type { UpstreamConfig } from '../config/upstream.js';
import type { Logger } from '../core/log.js';
import type { BindContext, DialContext, DialSettings, Outbound } from '../adapter/outbound.js';
import type { UdpAssociation, UdpAssociationEvents, UdpDialer } from '../adapter/udp.js';
import { PipeliningLearner, pipeliningVerdict, type PipeliningVerdict } from './pipelining.js';
import type { BindListener } from '../adapter/bind.js';
import type { ChainLeg, DialPlan, LegCommand } from '../adapter/handshake.js';
import { Socks5Command } from '../codec/socks5.js';
import { runHandshake } from './socket-handshake.js';
import { Socks5Handshake, type Socks5Credentials } from './socks5-handshake.js';
import { connectTcp } from './tcp-connect.js';
import { ownHandshake } from './own-handshake.js';
import { socks5Bind } from './socks5-bind.js';

/** Port 0 is refused at once by every server that reads the request, and reaches nobody. */
const PROBE_DESTINATION: SocksAddr = { kind: 'ipv4', host: '0.0.0.0', port: 0 };

export class Socks5Outbound implements Outbound {
  readonly name: string;
  readonly server: SocksAddr;
  readonly pipelining: PipeliningLearner;
  private readonly credentials?: Socks5Credentials;
  /** Shares the learner: an ASSOCIATE pipelines when a CONNECT would. */
  private readonly udp: UdpDialer;

  constructor(
    upstream: UpstreamConfig,
    private readonly settings: DialSettings,
    private readonly log: Logger,
    udp: (pipelining: PipeliningLearner) => UdpDialer,
  ) {
    this.name = upstream.name;
    this.server = upstream.server;
    if (upstream.username !== undefined) {
      this.credentials = { username: upstream.username, password: upstream.password ?? '' };
    }
    this.pipelining = new PipeliningLearner(upstream.pipelining, () => this.probePipelining(), log.child({ upstream: this.name }));
    this.udp = udp(this.pipelining);
  }

  start(): void {
    this.pipelining.learn();
  }

  associate(client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> {
    return this.udp.associate(client, events, signal);
  }

  /** Only a server that reads a pipelined handshake ('on', or learned in 'auto') gets early data. */
  pipeliningState(): PipeliningVerdict | 'learning' {
    return this.pipelining.current ?? 'learning';
  }

  takesEarlyData(): boolean {
    return this.pipelining.current === 'pipelined';
  }

  async dial(dst: SocksAddr, ctx: DialContext): Promise<Socket> {
    const pipelined = this.pipelining.shouldPipeline();
    const socket = await this.connect(ctx.signal);
    // Awaited only now, so waiting for the client's first bytes overlaps the connect. If the verdict
    // changed since the session asked, the bytes follow the handshake instead of sharing its write.
    const data = await ctx.earlyData;
    const handshake = this.handshake(dst, pipelined, pipelined ? data : undefined);
    try {
      await runHandshake(socket, handshake, { timeoutMs: this.settings.handshakeTimeoutMs, signal: ctx.signal });
      if (data && !pipelined) socket.write(data);
      return socket;
    } catch (err) {
      socket.destroy();
      this.settle(err, handshake);
      throw err;
    }
  }

  bind(peer: SocksAddr, ctx: BindContext): Promise<BindListener> {
    return socks5Bind(this.server, this.credentials, this.settings, peer, ctx);
  }

  plan(dst: SocksAddr): DialPlan | undefined {
    if (this.server.kind === 'domain') return undefined;
    const { mark, connectTimeoutMs, handshakeTimeoutMs } = this.settings;
    const { handshake, settle } = this.leg(dst, 'connect');
    return { server: this.server, mark, connectTimeoutMs, handshakeTimeoutMs, handshake, settle };
  }

  /** A chain's UDP ASSOCIATE leg goes step by step; a single upstream's (Socks5UdpDialer) pipelines as a CONNECT would. */
  leg(dst: SocksAddr, command: LegCommand): ChainLeg {
    const pipelined = command === 'connect' && this.pipelining.shouldPipeline();
    const handshake = new Socks5Handshake(dst, {
      credentials: this.credentials,
      pipelined,
      command: command === 'connect' ? Socks5Command.CONNECT : Socks5Command.UDP_ASSOCIATE,
    });
    return { server: this.server, handshake, takesTrailingBytes: pipelined, bound: () => handshake.bound, settle: (err) => this.settle(err, handshake) };
  }

  private handshake(dst: SocksAddr, pipelined: boolean, earlyData?: Buffer): Socks5Handshake {
    return new Socks5Handshake(dst, { credentials: this.credentials, pipelined, earlyData });
  }

  private async connect(signal?: AbortSignal): Promise<Socket> {
    try {
      return await connectTcp(this.server, { mark: this.settings.mark, timeoutMs: this.settings.connectTimeoutMs, signal });
    } catch (err) {
      this.settle(err);
      throw err;
    }
  }

  /**
   * What a dial's outcome (undefined: success) says about the server, whichever path dialed it. An
   * unreachable server may come back as another program; a pipelined handshake that went silent past
   * the method reply looks like a server that drops pipelined bytes. Either way, learn again.
   */
  private settle(err: unknown, handshake?: Socks5Handshake): void {
    if (err === undefined) return;
    const code = errorCode(err);
    const silentPipelined = handshake?.pipelined === true && pipeliningVerdict(handshake.stage, code) === 'stepwise';
    if (code === ErrorCode.UPSTREAM_UNREACHABLE || silentPipelined) this.pipelining.forget();
  }

  /**
   * Sends greeting, login and a CONNECT to port 0 in one write, and reads the outcome
   * (pipeliningVerdict). The handshake may take four times the connect, at least a second.
   */
  private async probePipelining(): Promise<PipeliningVerdict | undefined> {
    const handshake = this.handshake(PROBE_DESTINATION, true);
    let connected = false;
    const deadlineMs = (connectMs: number) => {
      connected = true;
      return Math.min(this.settings.handshakeTimeoutMs, Math.max(1_000, 4 * connectMs));
    };
    try {
      await this.probeDial(handshake, deadlineMs);
      return pipeliningVerdict(handshake.stage, undefined);
    } catch (err) {
      if (!connected) {
        this.settle(err);
        return undefined;
      }
      const code = errorCode(err);
      if (handshake.stage !== 'method' && code === ErrorCode.AUTH_FAILED) this.log.warn({ upstream: this.name }, 'upstream rejected the username/password');
      return pipeliningVerdict(handshake.stage, code);
    }
  }

  /**
   * The probe's connection, dialed as a user flow's would be: in the addon to an address (plan), on
   * a Node socket to a name that needs resolving, or when there is no addon.
   */
  private async probeDial(handshake: Socks5Handshake, deadlineMs: (connectMs: number) => number): Promise<void> {
    const { mark, connectTimeoutMs, handshakeTimeoutMs } = this.settings;
    if (this.server.kind !== 'domain') {
      try {
        return await ownHandshake({ server: this.server, mark, connectTimeoutMs, handshakeTimeoutMs, deadlineMs }, handshake);
      } catch (err) {
        if (errorCode(err) !== ErrorCode.NATIVE_MISSING) throw err;
      }
    }
    const startedAt = Date.now();
    const socket = await connectTcp(this.server, { mark, timeoutMs: connectTimeoutMs });
    try {
      await runHandshake(socket, handshake, { timeoutMs: deadlineMs(Date.now() - startedAt) });
    } finally {
      socket.destroy();
    }
  }
}
