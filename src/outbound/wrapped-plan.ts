import type { DialPlan } from '../adapter/handshake.js';

/** What a wrapper of a plan puts in place of the inner plan's callbacks. */
export interface PlanHooks {
  settle(err: unknown): void;
  retry?(): DialPlan | undefined;
  closed?(): void;
}

/**
 * `inner`'s dial with the wrapper's callbacks (which call the inner ones themselves). Spelled out,
 * not spread: a spread of a plan takes V8's slow path on every flow, and every plan gets one shape.
 */
export function wrappedPlan(inner: DialPlan, hooks: PlanHooks): DialPlan {
  const { server, mark, connectTimeoutMs, handshakeTimeoutMs, handshake } = inner;
  return { server, mark, connectTimeoutMs, handshakeTimeoutMs, handshake, settle: hooks.settle, retry: hooks.retry, closed: hooks.closed };
}
