import type { Socket } from 'node:net';
import type { SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError, errorCode, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { RateLimitedWarning } from '../core/rate-limited-warning.js';
import type { ChainLeg, DialPlan, LegCommand } from '../adapter/handshake.js';
import type { BindContext, DialContext, Outbound } from '../adapter/outbound.js';
import type { BindListener } from '../adapter/bind.js';
import type { GroupHealth } from '../adapter/upstream-health.js';
import type { UdpAssociation, UdpAssociationEvents } from '../adapter/udp.js';
import { GroupProbes, type ProbeTargets } from './group-probe.js';
import { PolicyOrder, type GroupPolicy } from './group-policy.js';
import { FailoverAssociation } from './group-udp.js';
import { wrappedPlan } from './wrapped-plan.js';
import { HealthState, type GroupMember, type HealthSettings } from './member-health.js';

export interface GroupSettings {
  readonly name: string;
  readonly policy: GroupPolicy;
  readonly failbackMs: number;
  readonly health: HealthSettings;
  /** How long one flow may go on trying members (the connect and handshake budget). */
  readonly budgetMs: number;
  /** Active probes; absent: passive health only. */
  readonly check?: ProbeTargets;
}

/** Failures of a member that say nothing about it: the client left, or the target refused (the member answered). */
const NOT_THE_MEMBER: readonly string[] = [ErrorCode.ABORTED, ErrorCode.UPSTREAM_REFUSED, ErrorCode.NO_MAPPING, ErrorCode.REJECTED, ErrorCode.SHUTDOWN];

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** "No member is up" is logged at most this often per group. */
const NO_MEMBER_LOG_MS = 10_000;

/**
 * A group of named outbounds behind one name. Each new flow goes to the member its policy picks
 * among the healthy ones; a dial that fails through a member before any byte came back from it
 * (connect, handshake, auth) is retried on the next one, with the same optimistic bytes, so the
 * client never sees it. Health is passive (real dials) and, with `check`, active (probes).
 */
export class GroupOutbound implements Outbound {
  readonly members: readonly GroupMember[];
  private readonly order: PolicyOrder;
  private readonly noMember = new RateLimitedWarning(NO_MEMBER_LOG_MS);
  private readonly probes?: GroupProbes;

  /** `previous`: the group of this name a reload replaces; members it had, with the same health settings, keep their health. */
  constructor(
    private readonly settings: GroupSettings,
    members: readonly Outbound[],
    private readonly log: Logger,
    previous?: GroupOutbound,
    private readonly now: () => number = Date.now,
  ) {
    const kept = previous && sameJson(previous.settings.health, settings.health) ? new Map(previous.members.map((m) => [m.outbound.name, m.health])) : undefined;
    this.members = members.map((outbound) => ({ outbound, health: kept?.get(outbound.name) ?? new HealthState(outbound.name, settings.health, now) }));
    this.order = new PolicyOrder(settings.policy, settings.failbackMs);
    if (settings.check) this.probes = new GroupProbes(this.members, settings.check, log);
  }

  get name(): string {
    return this.settings.name;
  }

  /** The first member's server: a group has no server of its own (the loop guard knows every upstream's). */
  get server(): SocksAddr {
    return this.members[0].outbound.server;
  }

  /** Starts the probes; the members are started by whoever built them (the registry's owner), once. */
  start(): void {
    this.probes?.start();
  }

  /** Stops the probes (a reload replaced the group; its live flows run on). */
  stop(): void {
    this.probes?.stop();
  }

  takesEarlyData(): boolean {
    const first = this.members.find((m) => m.health.usable());
    return first?.outbound.takesEarlyData?.() ?? false;
  }

  /** The members a new flow tries, in order; throws SG_ERR_NO_HEALTHY_MEMBER (logged once per interval) when none is usable. */
  attempts(network: 'tcp' | 'udp'): GroupMember[] {
    const usable: number[] = [];
    this.members.forEach((m, i) => {
      if (network === 'tcp' ? m.health.usable() : m.health.usableForUdp()) usable.push(i);
    });
    if (usable.length === 0) throw this.noneUsable(network);
    return this.order.order(this.members.map((m) => m.health), usable).map((i) => this.members[i]);
  }

  private noneUsable(network: 'tcp' | 'udp'): SgError {
    const why = this.members.map(({ health }) => {
      const v = health.view();
      return network === 'udp' && v.state === 'up' ? `${v.name}: UDP ${v.udp}` : `${v.name}: ${v.state}${v.why ? ` (${v.why})` : ''}`;
    });
    const message = `group "${this.name}": no member can carry ${network.toUpperCase()} now (${why.join('; ')})`;
    this.noMember.maybe((suppressed) => this.log.warn({ group: this.name, reason: ErrorCode.NO_HEALTHY_MEMBER, suppressed }, message));
    return new SgError(ErrorCode.NO_HEALTHY_MEMBER, message);
  }

  async dial(dst: SocksAddr, ctx: DialContext): Promise<Socket> {
    const tries = this.attempts('tcp');
    const deadline = this.now() + this.settings.budgetMs;
    let lastError: unknown;
    for (const [i, member] of tries.entries()) {
      if (i > 0 && (this.now() >= deadline || ctx.signal?.aborted)) break;
      const startedAt = performance.now();
      try {
        const socket = await member.outbound.dial(dst, ctx);
        this.succeeded(member, startedAt);
        const ended = () => member.health.activeFlows--;
        if (ctx.whenEnded) ctx.whenEnded(ended);
        else socket.once('close', ended);
        return socket;
      } catch (err) {
        if (!this.failedOn(member, err)) throw err;
        lastError = err;
        if (i + 1 < tries.length) member.health.failovers++;
      }
    }
    throw lastError;
  }

  /**
   * A BIND through the first usable member (in policy order) that can BIND; a member that fails
   * to open it is passed over for the next, as for a dial.
   */
  async bind(peer: SocksAddr, ctx: BindContext): Promise<BindListener> {
    const tries = this.attempts('tcp').filter((m) => m.outbound.bind !== undefined);
    if (tries.length === 0) throw new SgError(ErrorCode.BIND_UNSUPPORTED, `group "${this.name}": no usable member can BIND`);
    let lastError: unknown;
    for (const member of tries) {
      try {
        return await member.outbound.bind!(peer, ctx);
      } catch (err) {
        // A server that refuses BIND may carry every CONNECT: no mark against its health.
        if (errorCode(err) !== ErrorCode.BIND_UNSUPPORTED && !this.failedOn(member, err)) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  /**
   * A plan for the native dialer whose `retry` is the next member's plan; undefined when a member
   * needs Node (then the flow takes the Node path and `dial`). Throws as `dial` rejects: a member
   * that cannot carry `dst` at all (IPv6 over SOCKS4) refuses it, and is not retried.
   */
  plan(dst: SocksAddr): DialPlan | undefined {
    if (this.members.some(({ outbound }) => outbound.plan === undefined || outbound.server.kind === 'domain')) return undefined;
    return this.planOn(this.attempts('tcp'), 0, dst, this.now() + this.settings.budgetMs);
  }

  private planOn(tries: readonly GroupMember[], i: number, dst: SocksAddr, deadline: number): DialPlan | undefined {
    const inner = tries[i].outbound.plan!(dst);
    return inner && this.wrapPlan(tries, i, inner, dst, deadline);
  }

  /** After a failure on tries[i]: the next member's plan, or undefined when none is left, the budget is spent, or it refuses `dst`. */
  private nextPlan(tries: readonly GroupMember[], i: number, dst: SocksAddr, deadline: number): DialPlan | undefined {
    if (i + 1 >= tries.length || this.now() >= deadline) return undefined;
    try {
      return this.planOn(tries, i + 1, dst, deadline);
    } catch {
      return undefined;
    }
  }

  private wrapPlan(tries: readonly GroupMember[], i: number, inner: DialPlan, dst: SocksAddr, deadline: number): DialPlan {
    const member = tries[i];
    const startedAt = performance.now();
    let failedHere = false;
    return wrappedPlan(inner, {
      settle: (err) => {
        inner.settle(err);
        if (err === undefined) this.succeeded(member, startedAt);
        else failedHere = this.failedOn(member, err);
      },
      retry: () => {
        // A member that is itself a group tries its own next member first.
        const again = inner.retry?.();
        if (again) return this.wrapPlan(tries, i, again, dst, deadline);
        if (!failedHere) return undefined;
        const next = this.nextPlan(tries, i, dst, deadline);
        if (next) member.health.failovers++;
        return next;
      },
      closed: () => {
        member.health.activeFlows--;
        inner.closed?.();
      },
    });
  }

  /**
   * This group as a hop of a chain: the leg of its first usable member (in policy order) that can
   * be a hop, whose outcome counts for that member's health. A chain's handshake does not fail over
   * within a flow (its legs are written together); the chain's next flow picks again.
   */
  leg(dst: SocksAddr, command: LegCommand): ChainLeg {
    const member = this.attempts(command === 'connect' ? 'tcp' : 'udp').find((m) => m.outbound.leg !== undefined);
    if (member === undefined) throw new SgError(ErrorCode.NO_HEALTHY_MEMBER, `group "${this.name}": no usable member can be a hop of a chain`);
    const inner = member.outbound.leg!(dst, command);
    const startedAt = performance.now();
    return {
      server: inner.server,
      handshake: inner.handshake,
      takesTrailingBytes: inner.takesTrailingBytes,
      bound: () => inner.bound(),
      settle: (err) => {
        inner.settle(err);
        if (err === undefined) member.health.dialSucceeded(performance.now() - startedAt);
        else this.failedOn(member, err);
      },
    };
  }

  associate(client: SocksAddr, events: UdpAssociationEvents, signal?: AbortSignal): Promise<UdpAssociation> {
    return FailoverAssociation.open(() => this.attempts('udp'), client, events, signal, this.log.child({ group: this.name }));
  }

  private succeeded(member: GroupMember, startedAt: number): void {
    member.health.dialSucceeded(performance.now() - startedAt);
    member.health.activeFlows++;
  }

  /** Counts a failure against the member when it is the member's; false when it is not (then no retry). */
  private failedOn(member: GroupMember, err: unknown): boolean {
    const code = errorCode(err);
    if (NOT_THE_MEMBER.includes(code)) return false;
    const wasUp = member.health.isUp;
    member.health.dialFailed(`${code}: ${errorMessage(err)}`);
    if (wasUp && !member.health.isUp) this.log.warn({ group: this.name, member: member.outbound.name, reason: code }, `group "${this.name}": member "${member.outbound.name}" is down: ${errorMessage(err)}`);
    return true;
  }

  health(): GroupHealth {
    return { name: this.name, policy: this.settings.policy, members: this.members.map((m) => m.health.view()) };
  }
}
