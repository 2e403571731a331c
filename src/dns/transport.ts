import type { Question } from 'dns-packet';
import type { DnsResult } from './message.js';

/** A way to reach one real resolver. */
export interface DnsTransport {
  readonly name: string;
  /** The matching answer; rejects on failure, and promptly when `signal` aborts (the deadline). */
  exchange(question: Question, signal: AbortSignal): Promise<DnsResult>;
  close(): void;
}
