// A proxy inbound on loopback serving BIND and UDP ASSOCIATE through a fake router, for the
// command handlers' unit tests: the decision is whatever the test says, flows are recorded.
import { once } from 'node:events';
import net from 'node:net';
import pino from 'pino';
import type { FlowEnd, FlowObserver } from '../../../src/adapter/flow-observer.js';
import type { Outbound } from '../../../src/adapter/outbound.js';
import type { Decision, RouteAction, Router } from '../../../src/adapter/router.js';
import { createUdpCounters, type UdpCounters } from '../../../src/adapter/udp-counters.js';
import { addrOf } from '../../../src/core/addr.js';
import type { Flow } from '../../../src/core/flow.js';
import { LoopGuard } from '../../../src/inbound/loop-guard.js';
import { bindCommand } from '../../../src/inbound/socks/bind.js';
import type { SocksCommandDeps } from '../../../src/inbound/socks/command-deps.js';
import { startSocksInbound } from '../../../src/inbound/socks/server.js';
import { udpAssociateCommand, type UdpAssociateCommand } from '../../../src/inbound/socks/udp-associate.js';
import { Sessions } from '../../../src/relay/sessions.js';
import { relayTcp } from '../../../src/relay/tcp-relay.js';
import { closedPort } from '../../helpers/native-accept.js';

export interface CommandServer {
  readonly port: number;
  readonly counters: UdpCounters;
  readonly opened: Flow[];
  readonly closed: { flow: Flow; end: FlowEnd }[];
  /** Flows and datagrams decided, in order. */
  readonly decided: { network: 'tcp' | 'udp'; dst: string; user: string | undefined }[];
  readonly udp: UdpAssociateCommand;
  readonly sessions: Sessions;
}

export function decision(outbound: Partial<Outbound> & { name: string }, action: RouteAction = 'direct'): Decision {
  return { outbound: outbound as Outbound, rule: `final → ${outbound.name}`, index: -1, action };
}

export async function startCommandServer(cleanups: (() => void)[], decide: (flow: Omit<Flow, 'id'>) => Decision, opts: { bindTimeoutMs?: number; users?: { name: string; password: string }[]; maxAssociations?: number } = {}): Promise<CommandServer> {
  const port = await closedPort();
  const counters = createUdpCounters();
  const opened: Flow[] = [];
  const closed: CommandServer['closed'] = [];
  const decided: CommandServer['decided'] = [];
  const observer: FlowObserver = { opened: ({ flow }) => void opened.push(flow), closed: (flow, _o, end) => closed.push({ flow, end }) };
  const router = {
    decide: (flow: Omit<Flow, 'id'>) => {
      decided.push({ network: flow.network, dst: `${flow.dst.host}:${flow.dst.port}`, user: flow.user });
      return decide(flow);
    },
  } as unknown as Router;
  const log = pino({ level: 'silent' });
  const listen = addrOf('127.0.0.1', port);
  const guard = new LoopGuard([listen], [], async () => []);
  const sessions = new Sessions();
  const deps: SocksCommandDeps = { router, guard, flows: { sessions, log, observer, idleMs: 0, relay: relayTcp, udpCounters: counters } };
  const udp = udpAssociateCommand(deps, () => ({ timeout_s: 60, max_associations: opts.maxAssociations ?? 16, max_pending_associations: 4, max_reply_sockets: 16, queue_datagrams: 8, queue_bytes: 65_536, send_source: false }));
  const commands = { bind: bindCommand(deps, () => opts.bindTimeoutMs ?? 5_000), udpAssociate: udp.handler };
  const inbound = startSocksInbound({ listen, users: opts.users ?? [], allowOpen: false, maxHandshakes: 16, bindTimeoutMs: 0 }, { router, guard, log, handshakeMs: 2_000, commands });
  cleanups.push(() => inbound.close(), () => udp.closeAll());
  return { port, counters, opened, closed, decided, udp, sessions };
}

/** A client connection whose bytes are read in exact amounts, as a SOCKS client reads replies. */
export class ByteClient {
  private buffered = Buffer.alloc(0);
  private wake?: () => void;
  ended = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  static async connect(cleanups: (() => void)[], port: number, host = '127.0.0.1'): Promise<ByteClient> {
    const socket = net.connect({ port, host });
    cleanups.push(() => socket.destroy());
    const client = new ByteClient(socket);
    await once(socket, 'connect');
    return client;
  }

  /** Exactly `n` bytes; rejects when the connection closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      if (this.ended) throw new Error(`closed after ${this.buffered.length} of ${n} bytes`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  /** Resolves once the server closed the connection. */
  async closed(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
  }
}
