import type { Socket } from 'node:net';
import { addrOf, formatAddr, type SocksAddr } from '../../core/addr.js';
import { ErrorCode, errorCode, errorMessage } from '../../core/errors.js';
import { Socks5Command } from '../../codec/socks5.js';
import type { UpstreamConfig } from '../../config/upstream.js';
import { pipeliningVerdict } from '../../outbound/pipelining.js';
import { REQUEST_REFUSALS, socks5Handshake, type Socks5Stage } from '../../outbound/socks5-handshake.js';
import { connectTcp } from '../../outbound/tcp-connect.js';
import { relayAddress } from '../../outbound/udp-relay-address.js';
import { finding, type Finding } from './report.js';
import { udpEcho } from './udp-echo.js';

/** Port 0 is refused at once by every server that reads the request, and reaches nobody. */
const NOWHERE: SocksAddr = { kind: 'ipv4', host: '0.0.0.0', port: 0 };

export interface ProbeSettings {
  readonly mark: number;
  readonly timeoutMs: number;
  /** Whether the rules divert UDP: then an upstream without UDP is a failure, not a remark. */
  readonly udpDiverted: boolean;
  readonly udpEcho?: SocksAddr;
  readonly targets: readonly SocksAddr[];
}

interface Attempt {
  readonly stage: Socks5Stage;
  readonly bound?: SocksAddr;
  readonly error?: unknown;
  readonly socket: Socket;
}

/** Connects and runs one handshake; the caller destroys `socket`. */
async function attempt(upstream: UpstreamConfig, s: ProbeSettings, dst: SocksAddr, opts: { pipelined: boolean; command?: number; timeoutMs: number }): Promise<Attempt> {
  const socket = await connectTcp(upstream.server, { mark: s.mark, timeoutMs: s.timeoutMs });
  const credentials = upstream.username === undefined ? undefined : { username: upstream.username, password: upstream.password ?? '' };
  let stage: Socks5Stage = 'method';
  try {
    const bound = await socks5Handshake(socket, dst, { credentials, pipelined: opts.pipelined, timeoutMs: opts.timeoutMs, command: opts.command }, (st) => (stage = st));
    return { stage, bound, socket };
  } catch (error) {
    return { stage, error, socket };
  }
}

async function once<T>(upstream: UpstreamConfig, s: ProbeSettings, dst: SocksAddr, opts: Parameters<typeof attempt>[3], judge: (a: Attempt) => T | Promise<T>): Promise<T> {
  const a = await attempt(upstream, s, dst, opts);
  try {
    return await judge(a);
  } finally {
    a.socket.destroy();
  }
}

/** The login, judged from a step-by-step CONNECT to nowhere: past the login means it was accepted. */
function judgeAuth(upstream: UpstreamConfig, a: Attempt): Finding {
  const subject = `upstream ${upstream.name}: auth`;
  const how = upstream.username === undefined ? 'no login needed' : `username "${upstream.username}" accepted`;
  if (a.stage === 'reply' && (!a.error || REQUEST_REFUSALS.includes(errorCode(a.error)))) return finding('ok', subject, how);
  const code = errorCode(a.error);
  if (code === ErrorCode.AUTH_REQUIRED) return finding('FAIL', subject, 'the server requires a username and password; none is configured');
  if (code === ErrorCode.AUTH_FAILED) return finding('FAIL', subject, `the server rejected the login of "${upstream.username}": check the username and password`);
  return finding('FAIL', subject, `no SOCKS5 handshake: ${errorMessage(a.error)}`);
}

/** Greeting, login and CONNECT in one write: a server that drops the tail goes silent (microsocks). */
function judgePipelining(upstream: UpstreamConfig, a: Attempt): Finding {
  const subject = `upstream ${upstream.name}: pipelining`;
  const config = upstream.pipelining === 'auto' ? '' : ` (config says pipelining=${upstream.pipelining})`;
  const verdict = pipeliningVerdict(a.stage, a.error ? errorCode(a.error) : undefined);
  if (verdict === 'pipelined') return finding('ok', subject, `taken: one round trip after connecting${config}`);
  if (verdict === 'stepwise') {
    const fix = upstream.pipelining === 'on' ? ': set pipelining=auto or off, or every flow will hang' : '; socksgate talks to it step by step (one round trip more per connection)';
    return finding(upstream.pipelining === 'on' ? 'FAIL' : 'info', subject, `not taken: the server ignores bytes sent before its reply${fix}${config}`);
  }
  return finding('warn', subject, `could not tell: ${errorMessage(a.error)}`);
}

async function judgeUdp(upstream: UpstreamConfig, s: ProbeSettings, a: Attempt): Promise<Finding[]> {
  const subject = `upstream ${upstream.name}: UDP ASSOCIATE`;
  if (a.error || !a.bound) {
    const why = a.stage === 'reply' && REQUEST_REFUSALS.includes(errorCode(a.error)) ? `not supported (${errorMessage(a.error)})` : `failed: ${errorMessage(a.error)}`;
    const effect = s.udpDiverted ? 'the rules divert UDP to socksgate, so UDP (QUIC, DNS over UDP, games) is dropped: use an upstream with UDP (Dante) or turn UDP off (rules.udp: false)' : 'UDP cannot go through this upstream (no UDP is diverted now, so nothing breaks)';
    return [finding(s.udpDiverted ? 'FAIL' : 'warn', subject, `${why}: ${effect}`)];
  }
  const server = addrOf(a.socket.remoteAddress ?? '', a.socket.remotePort ?? 0);
  const relay = relayAddress(a.bound, server);
  const fixed = relay.fixup ? ` (${relay.fixup}: using the server's own address)` : '';
  const out = [finding('ok', subject, `supported, relay at ${formatAddr(relay.addr)}${fixed}`)];
  const subjectEcho = `upstream ${upstream.name}: UDP relay`;
  if (!s.udpEcho) out.push(finding('info', subjectEcho, 'not exercised: give --udp-echo HOST:PORT (a UDP echo server) to send a real datagram through it'));
  else out.push(await udpEcho(relay.addr, s.udpEcho, s, subjectEcho));
  return out;
}

function judgeTarget(upstream: UpstreamConfig, target: SocksAddr, a: Attempt): Finding {
  const subject = `upstream ${upstream.name}: ${target.kind === 'ipv6' ? 'IPv6 ' : ''}CONNECT ${formatAddr(target)}`;
  if (!a.error) return finding('ok', subject, 'connected');
  return finding('FAIL', subject, errorMessage(a.error));
}

/** Every check of one SOCKS5 upstream; stops after the first that leaves nothing else to learn. */
export async function probeSocks5(upstream: UpstreamConfig, s: ProbeSettings): Promise<Finding[]> {
  const reach = `upstream ${upstream.name}: reachable`;
  const startedAt = Date.now();
  let rttMs: number;
  try {
    (await connectTcp(upstream.server, { mark: s.mark, timeoutMs: s.timeoutMs })).destroy();
    rttMs = Date.now() - startedAt;
  } catch (err) {
    return [finding('FAIL', reach, `${errorMessage(err)}: is the server running, and is ${formatAddr(upstream.server)} the right address?`)];
  }
  const out = [finding('ok', reach, `TCP connection to ${formatAddr(upstream.server)} in ${rttMs} ms`)];
  const auth = await once(upstream, s, NOWHERE, { pipelined: false, timeoutMs: s.timeoutMs }, (a) => judgeAuth(upstream, a));
  out.push(auth);
  if (auth.status === 'FAIL') return out;
  // Like the daemon's probe: a server that read everything answers within a few round trips.
  const promptMs = Math.min(s.timeoutMs, Math.max(1_000, 4 * rttMs));
  out.push(await once(upstream, s, NOWHERE, { pipelined: true, timeoutMs: promptMs }, (a) => judgePipelining(upstream, a)));
  out.push(...(await once(upstream, s, NOWHERE, { pipelined: false, command: Socks5Command.UDP_ASSOCIATE, timeoutMs: s.timeoutMs }, (a) => judgeUdp(upstream, s, a))));
  for (const target of s.targets) out.push(await once(upstream, s, target, { pipelined: false, timeoutMs: s.timeoutMs }, (a) => judgeTarget(upstream, target, a)));
  if (!s.targets.some((t) => t.kind === 'ipv6')) {
    out.push(finding('info', `upstream ${upstream.name}: IPv6`, `not tested: give --target [IPV6]:PORT to CONNECT to an IPv6 host through it${upstream.server.kind === 'ipv6' ? ' (the server itself is reached over IPv6)' : ''}`));
  }
  return out;
}
