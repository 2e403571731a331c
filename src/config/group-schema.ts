import * as z from 'zod';
import { parseHostPort } from '../core/addr.js';
import { lazySchema } from './lazy-schema.js';

/** How a group picks the member for a new flow. */
export const GROUP_POLICIES = ['failover', 'round-robin', 'least-latency'] as const;

function hostPort(text: string, ctx: z.RefinementCtx): void {
  try {
    parseHostPort(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
}

/** The active probe of every member: a CONNECT through it, and optionally one DNS query over UDP ASSOCIATE. */
const checkSchema = () =>
  z.strictObject({
    /** Between two probes of a member that is up; a member that is down is probed sooner, with backoff up to this. */
    interval_s: z.number().positive().default(30),
    timeout_ms: z.number().int().positive().default(3_000),
    /** host:port the probe CONNECTs to through the member. */
    tcp: z.string().superRefine(hostPort),
    /** host:port of a DNS server the probe asks one query over UDP ASSOCIATE through the member. */
    udp: z.string().superRefine(hostPort).optional(),
  });

/**
 * A named set of upstreams (or chains, or other groups) used wherever an upstream name is: each new
 * flow goes to one healthy member chosen by `policy`; a flow whose dial fails before any byte came
 * back is retried on the next member.
 */
export const groupSchema = lazySchema(() =>
  z.strictObject({
    name: z.string().min(1),
    policy: z.enum(GROUP_POLICIES).default('failover'),
    members: z.array(z.string().min(1)).min(1),
    check: checkSchema().optional(),
    /** A member goes down after this many failed dials in a row (default: health.fail_after). */
    fail_after: z.number().int().min(1).optional(),
    /** failover: a member that came back is preferred again only after being up this long (no flapping). */
    failback_s: z.number().min(0).default(2),
  }),
);

/** Defaults for the health of every group's members. */
export const healthSchema = lazySchema(() =>
  z.strictObject({
    /** Failed dials in a row that mark a member down. */
    fail_after: z.number().int().min(1).default(3),
    /** First wait before a down member is tried (or probed) again; doubles while it stays down. */
    retry_ms: z.number().int().positive().default(1_000),
    /** Longest wait between two tries of a down member (check.interval_s when shorter). */
    max_retry_s: z.number().positive().default(60),
  }),
);
