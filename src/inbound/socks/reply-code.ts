import type { SocksAddr } from '../../core/addr.js';
import { ErrorCode, errorCode } from '../../core/errors.js';
import { Socks5Reply } from '../../codec/socks5.js';
import { Socks5Refusal } from '../../outbound/upstream-refusal.js';

/** What a proxy client is told about its request, whichever protocol it speaks. */
export type ReplyCode =
  | 'succeeded'
  | 'general-failure'
  | 'not-allowed'
  | 'network-unreachable'
  | 'host-unreachable'
  | 'refused'
  | 'timed-out'
  | 'command-not-supported'
  | 'address-type-not-supported';

/** A protocol's reply for `code`; `bound` is the local address the reply names, where known. */
export type EncodeReply = (code: ReplyCode, bound?: SocksAddr) => Buffer;

/** The syscall codes a failed connect carries, somewhere in its cause chain. */
const BY_ERRNO: Record<string, ReplyCode> = {
  ECONNREFUSED: 'refused',
  ENETUNREACH: 'network-unreachable',
  EHOSTUNREACH: 'host-unreachable',
  EHOSTDOWN: 'host-unreachable',
  ETIMEDOUT: 'timed-out',
  ENOTFOUND: 'host-unreachable',
  EAI_AGAIN: 'host-unreachable',
};

/** What a SOCKS5 upstream's own failure REP says, passed on to the client. */
const BY_UPSTREAM_REPLY: Partial<Record<number, ReplyCode>> = {
  [Socks5Reply.NOT_ALLOWED]: 'not-allowed',
  [Socks5Reply.NETWORK_UNREACHABLE]: 'network-unreachable',
  [Socks5Reply.HOST_UNREACHABLE]: 'host-unreachable',
  [Socks5Reply.CONNECTION_REFUSED]: 'refused',
  [Socks5Reply.TTL_EXPIRED]: 'timed-out',
  [Socks5Reply.ADDRESS_TYPE_NOT_SUPPORTED]: 'address-type-not-supported',
};

/**
 * The reply for a dial that failed: a rule's refusal, the kernel's reason for a failed connect, a
 * timeout, or the SOCKS5 upstream's own reason.
 */
export function failureOf(err: unknown): ReplyCode {
  if (err instanceof Socks5Refusal) return BY_UPSTREAM_REPLY[err.reply] ?? 'general-failure';
  const code = errorCode(err);
  if (code === ErrorCode.REJECTED || code === ErrorCode.LOOP) return 'not-allowed';
  if (code === ErrorCode.CONNECT_TIMEOUT || code === ErrorCode.HANDSHAKE_TIMEOUT || code === ErrorCode.BIND_TIMEOUT) return 'timed-out';
  if (code === ErrorCode.BIND_UNSUPPORTED) return 'command-not-supported';
  for (let cause: unknown = err; cause instanceof Error; cause = cause.cause) {
    const known = BY_ERRNO[errorCode(cause)];
    if (known) return known;
  }
  if (code === ErrorCode.UPSTREAM_UNREACHABLE) return 'host-unreachable';
  if (code === ErrorCode.UPSTREAM_REFUSED) return 'refused';
  return 'general-failure';
}

/** RFC 1928 §6; a timeout is reported as host unreachable (TTL expired means something else). */
export const SOCKS5_REPLY: Readonly<Record<ReplyCode, number>> = {
  'succeeded': Socks5Reply.SUCCEEDED,
  'general-failure': Socks5Reply.GENERAL_FAILURE,
  'not-allowed': Socks5Reply.NOT_ALLOWED,
  'network-unreachable': Socks5Reply.NETWORK_UNREACHABLE,
  'host-unreachable': Socks5Reply.HOST_UNREACHABLE,
  'refused': Socks5Reply.CONNECTION_REFUSED,
  'timed-out': Socks5Reply.HOST_UNREACHABLE,
  'command-not-supported': Socks5Reply.COMMAND_NOT_SUPPORTED,
  'address-type-not-supported': Socks5Reply.ADDRESS_TYPE_NOT_SUPPORTED,
};

/** RFC 9110: the proxy refuses (403), gets no answer in time (504), or cannot reach the target (502). */
export function httpStatusOf(code: ReplyCode): number {
  if (code === 'succeeded') return 200;
  if (code === 'not-allowed') return 403;
  if (code === 'timed-out') return 504;
  return 502;
}
