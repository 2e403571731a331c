/**
 * The fault and exhaustion suites run reduced by default (CI: each file well under a minute) and at
 * full size with SOCKSGATE_SUITE=full (scripts/suites).
 */
export const FULL_SUITE = process.env.SOCKSGATE_SUITE === 'full';

/** `reduced` in a default run, `full` in a full one. */
export function suiteSize<T>(reduced: T, full: T): T {
  return FULL_SUITE ? full : reduced;
}
