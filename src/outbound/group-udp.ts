import type { SocksAddr } from '../core/addr.js';
import { ErrorCode, SgError, errorCode, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { UdpAssociation, UdpAssociationEvents } from '../adapter/udp.js';
import type { GroupMember } from './member-health.js';

interface Current {
  readonly member: GroupMember;
  readonly assoc: UdpAssociation;
}

/**
 * A client's UDP association through a group: it stays on one member; when that member's
 * association ends by itself (its control connection closed: the proxy died), it is opened again
 * on the next member that can carry UDP. The association table sees one association all along, so
 * the client keeps its mapping (its port, and the full-cone reply sockets).
 */
export class FailoverAssociation implements UdpAssociation {
  private current?: Current;
  private closed = false;
  private readonly reopening = new AbortController();

  private constructor(
    private readonly attempts: () => GroupMember[],
    private readonly client: SocksAddr,
    private readonly events: UdpAssociationEvents,
    private readonly log: Logger,
  ) {}

  /** Opens the association on the first member (in policy order) that accepts it. */
  static async open(attempts: () => GroupMember[], client: SocksAddr, events: UdpAssociationEvents, signal: AbortSignal | undefined, log: Logger): Promise<FailoverAssociation> {
    const assoc = new FailoverAssociation(attempts, client, events, log);
    assoc.current = await assoc.openOn(attempts(), signal);
    return assoc;
  }

  get relay(): string {
    return this.current ? `${this.current.member.outbound.name} ${this.current.assoc.relay}` : 'reopening';
  }

  /** Dropped (false) while the association is being opened again on the next member. */
  send(dst: SocksAddr, data: Buffer, headroom: number): boolean {
    return this.current?.assoc.send(dst, data, headroom) ?? false;
  }

  close(): void {
    this.closed = true;
    this.reopening.abort();
    const current = this.current;
    this.current = undefined;
    current?.assoc.close();
  }

  private async openOn(tries: readonly GroupMember[], signal: AbortSignal | undefined): Promise<Current> {
    let lastError: unknown = new SgError(ErrorCode.NO_HEALTHY_MEMBER, 'no member can carry UDP now');
    for (const member of tries) {
      if (signal?.aborted) break;
      try {
        const assoc = await member.outbound.associate(this.client, this.memberEvents(member), signal);
        member.health.udpSeen('up');
        return { member, assoc };
      } catch (err) {
        lastError = err;
        const code = errorCode(err);
        if (code === ErrorCode.ABORTED) throw err;
        member.health.udpSeen(code === ErrorCode.UDP_UNSUPPORTED ? 'unsupported' : 'down');
      }
    }
    throw lastError;
  }

  private memberEvents(member: GroupMember): UdpAssociationEvents {
    return {
      onReply: (from, payload) => {
        if (this.current?.member === member) this.events.onReply(from, payload);
      },
      onClose: (reason) => {
        if (this.closed || this.current?.member !== member) return;
        this.current = undefined;
        member.health.udpSeen('down');
        member.health.failovers++;
        this.reopen(member, reason);
      },
    };
  }

  /** The member's association ended: the same client goes on through the next member, or the association ends. */
  private reopen(dead: GroupMember, reason: string): void {
    let tries: GroupMember[];
    try {
      tries = this.attempts().filter((m) => m !== dead);
    } catch (err) {
      this.events.onClose(`${reason}; ${errorMessage(err)}`);
      return;
    }
    this.openOn(tries, this.reopening.signal).then(
      (next) => {
        if (this.closed) return next.assoc.close();
        this.current = next;
        this.log.info({ client: this.client.host, from: dead.outbound.name, to: next.member.outbound.name }, `UDP association moved from "${dead.outbound.name}" to "${next.member.outbound.name}": ${reason}`);
      },
      (err: unknown) => {
        if (!this.closed) this.events.onClose(`${reason}; no other member took it: ${errorMessage(err)}`);
      },
    );
  }
}
