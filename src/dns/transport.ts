import type { Question } from 'dns-packet';
import type { WireAnswer } from './wire-answer.js';

/** A way to reach one real resolver. */
export interface DnsTransport {
  readonly name: string;
  /** The matching answer, as the resolver sent it; rejects on failure, and promptly when `signal` aborts (the deadline). */
  exchange(question: Question, signal: AbortSignal): Promise<WireAnswer>;
  close(): void;
}
