import { ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { PipeliningMode } from '../config/upstream-url.js';
import { REQUEST_REFUSALS, type Socks5Stage } from './socks5-handshake.js';

export type PipeliningVerdict = 'pipelined' | 'stepwise';

/** Probes a server; undefined when the probe could not tell (server down, login refused, …). */
export type PipeliningProbe = () => Promise<PipeliningVerdict | undefined>;

const RETRY_INCONCLUSIVE_MS = 5_000;
const RELEARN_AFTER_MS = 10 * 60_000;

/**
 * What a pipelined handshake (greeting, login and request in one write) shows, from how far it got
 * and the code it failed with (undefined: it succeeded). A server that read it all answers or turns
 * the request down promptly; one that dropped the tail goes silent after the method (or login)
 * reply. Anything else (no method reply, a refused login, …) tells nothing: undefined.
 */
export function pipeliningVerdict(stage: Socks5Stage, code: string | undefined): PipeliningVerdict | undefined {
  if (code === undefined) return 'pipelined';
  if (stage === 'method') return undefined;
  if (code === ErrorCode.HANDSHAKE_TIMEOUT) return 'stepwise';
  if (stage === 'reply' && REQUEST_REFUSALS.includes(code)) return 'pipelined';
  return undefined;
}

/**
 * Decides per upstream whether the SOCKS5 handshake may be written in one go. In `auto` mode user
 * flows go step by step until a probe connection has shown that the server reads pipelined bytes,
 * so no user flow is ever risked on a server that drops them (microsocks does).
 */
export class PipeliningLearner {
  private verdict: PipeliningVerdict | undefined;
  private decidedAt = 0;
  private lastProbeAt = -Infinity;
  private probing = false;

  constructor(
    private readonly mode: PipeliningMode,
    private readonly probe: PipeliningProbe,
    private readonly log: Logger,
  ) {}

  get current(): PipeliningVerdict | undefined {
    return this.mode === 'on' ? 'pipelined' : this.mode === 'off' ? 'stepwise' : this.verdict;
  }

  shouldPipeline(): boolean {
    if (this.mode !== 'auto') return this.mode === 'on';
    const stale = this.verdict !== undefined && Date.now() - this.decidedAt > RELEARN_AFTER_MS;
    if (this.verdict === undefined || stale) this.learn();
    return this.verdict === 'pipelined';
  }

  /** The server may have restarted or been replaced: learn again before trusting the old verdict. */
  forget(): void {
    if (this.mode !== 'auto' || this.verdict === undefined) return;
    this.verdict = undefined;
    this.lastProbeAt = -Infinity;
  }

  learn(): void {
    if (this.mode !== 'auto' || this.probing || Date.now() - this.lastProbeAt < RETRY_INCONCLUSIVE_MS) return;
    this.probing = true;
    this.lastProbeAt = Date.now();
    this.probe()
      .then((verdict) => {
        if (verdict === undefined) return;
        if (verdict !== this.verdict) {
          this.log.info({ pipelining: verdict }, verdict === 'pipelined'
            ? 'upstream takes a pipelined handshake: one round trip after connecting'
            : 'upstream drops pipelined handshakes: using step-by-step');
        }
        this.verdict = verdict;
        this.decidedAt = Date.now();
      })
      .catch((err: unknown) => this.log.debug({ err }, 'pipelining probe failed'))
      .finally(() => {
        this.probing = false;
      });
  }
}
