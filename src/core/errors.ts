/**
 * The one catalogue of failure reasons. A flow that fails carries exactly one of these codes into
 * its log line and metrics; messages name what happened in plain words and never carry secrets.
 */
export const ErrorCode = {
  CONFIG: 'SG_ERR_CONFIG',
  UPSTREAM_UNREACHABLE: 'SG_ERR_UPSTREAM_UNREACHABLE',
  CONNECT_TIMEOUT: 'SG_ERR_CONNECT_TIMEOUT',
  HANDSHAKE_TIMEOUT: 'SG_ERR_HANDSHAKE_TIMEOUT',
  AUTH_REQUIRED: 'SG_ERR_AUTH_REQUIRED',
  AUTH_FAILED: 'SG_ERR_AUTH_FAILED',
  UPSTREAM_REFUSED: 'SG_ERR_UPSTREAM_REFUSED',
  MALFORMED_REPLY: 'SG_ERR_MALFORMED_REPLY',
  UPSTREAM_CLOSED: 'SG_ERR_UPSTREAM_CLOSED',
  UPSTREAM_RESET: 'SG_ERR_UPSTREAM_RESET',
  CLIENT_RESET: 'SG_ERR_CLIENT_RESET',
  IDLE_TIMEOUT: 'SG_ERR_IDLE_TIMEOUT',
  NO_ORIGINAL_DST: 'SG_ERR_NO_ORIGINAL_DST',
  NO_MAPPING: 'SG_ERR_NO_MAPPING',
  UDP_UNSUPPORTED: 'SG_ERR_UDP_UNSUPPORTED',
  /** The outbound has no BIND (SOCKS4, HTTP CONNECT, a chain) or refused it. */
  BIND_UNSUPPORTED: 'SG_ERR_BIND_UNSUPPORTED',
  /** Nobody (or not the expected peer) connected to a BIND in time. */
  BIND_TIMEOUT: 'SG_ERR_BIND_TIMEOUT',
  DNS_TIMEOUT: 'SG_ERR_DNS_TIMEOUT',
  DNS_UPSTREAM_CLOSED: 'SG_ERR_DNS_UPSTREAM_CLOSED',
  DNS_UPSTREAM_FAILED: 'SG_ERR_DNS_UPSTREAM_FAILED',
  DNS_BUSY: 'SG_ERR_DNS_BUSY',
  LOOP: 'SG_ERR_LOOP',
  /** A route rule (or route.final) says reject. */
  REJECTED: 'SG_ERR_REJECTED',
  ABORTED: 'SG_ERR_ABORTED',
  /** Every member of a group is down: the flow is reset at once (logged once per group, not per flow). */
  NO_HEALTHY_MEMBER: 'SG_ERR_NO_HEALTHY_MEMBER',
  SHUTDOWN: 'SG_ERR_SHUTDOWN',
  FIREWALL: 'SG_ERR_FIREWALL',
  /** The addon is not built (or not for this Node). */
  NATIVE_MISSING: 'SG_ERR_NATIVE_MISSING',
  /** A socket that has no fd (yet) or no local address where one is needed. */
  NO_FD: 'SG_ERR_NO_FD',
  /** A native dial used in a state that does not allow it (a bug, thrown by the addon). */
  DIAL_STATE: 'SG_ERR_DIAL_STATE',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SgError extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SgError';
  }
}

/** The stable code of any error: ours, a syscall's (ECONNRESET) or a codec's. */
export function errorCode(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return 'UNKNOWN';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
