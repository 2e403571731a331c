import type { Logger } from '../observe/logger.js';
import type { PipeliningMode } from '../config/upstream-url.js';

export type PipeliningVerdict = 'pipelined' | 'stepwise';

/** Probes a server; undefined when the probe could not tell (server down, login refused, …). */
export type PipeliningProbe = () => Promise<PipeliningVerdict | undefined>;

const RETRY_INCONCLUSIVE_MS = 5_000;
const RELEARN_AFTER_MS = 10 * 60_000;

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
