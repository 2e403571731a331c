import { formatAddr, type SocksAddr } from '../../core/addr.js';
import { errorCode, errorMessage } from '../../core/errors.js';
import { isLoopbackListen, type SocksInboundConfig } from '../../config/socks-inbound.js';
import { REQUEST_REFUSALS, socks5Handshake, type Socks5Stage } from '../../outbound/socks5-handshake.js';
import { connectTcp } from '../../outbound/tcp-connect.js';
import { finding, type Finding } from './report.js';

/** Port 0 reaches nobody: the inbound reads the request and answers with a failure. */
const NOWHERE: SocksAddr = { kind: 'ipv4', host: '0.0.0.0', port: 0 };

/** One SOCKS5 CONNECT through the running daemon's inbound, logged in as its first user. */
async function connectThrough(entry: SocksInboundConfig, dst: SocksAddr, timeoutMs: number): Promise<{ stage: Socks5Stage; error?: unknown }> {
  const socket = await connectTcp(entry.listen, { mark: 0, timeoutMs });
  const user = entry.users[0];
  let stage: Socks5Stage = 'method';
  try {
    await socks5Handshake(socket, dst, { credentials: user && { username: user.name, password: user.password }, pipelined: false, timeoutMs }, (s) => (stage = s));
    return { stage };
  } catch (error) {
    return { stage, error };
  } finally {
    socket.destroy();
  }
}

/**
 * The proxy inbound's listeners: a reachable one without users is an open proxy (warned, even
 * with allow_open); each one the running daemon serves is tested with a SOCKS5 CONNECT through it
 * (to each --target, else to nowhere, which checks the handshake and the login).
 */
export async function socksInboundFindings(entries: readonly SocksInboundConfig[], s: { timeoutMs: number; targets: readonly SocksAddr[] }): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const entry of entries) {
    const subject = `inbound socks ${formatAddr(entry.listen)}`;
    if (!isLoopbackListen(entry.listen) && entry.users.length === 0) {
      out.push(finding('warn', `${subject}: open`, 'no users on a non-loopback address (allow_open: true): anyone who can reach it can use it as a proxy; add users or firewall the port'));
    }
    const first = await connectThrough(entry, s.targets[0] ?? NOWHERE, s.timeoutMs).catch((error: unknown) => ({ stage: 'connect' as const, error }));
    if (first.stage === 'connect') {
      out.push(finding('warn', subject, `not listening (${errorMessage(first.error)}): is socksgate running with this config?`));
      continue;
    }
    const login = entry.users.length ? `login as "${entry.users[0].name}" accepted` : 'no login needed';
    if (first.stage !== 'reply' || (first.error && !REQUEST_REFUSALS.includes(errorCode(first.error)))) {
      out.push(finding('FAIL', subject, `no SOCKS5 handshake: ${errorMessage(first.error)}`));
      continue;
    }
    if (s.targets.length === 0) {
      out.push(finding('ok', subject, `SOCKS5 handshake answered, ${login}; give --target HOST:PORT to CONNECT through it`));
      continue;
    }
    for (const [i, target] of s.targets.entries()) {
      const result = i === 0 ? first : await connectThrough(entry, target, s.timeoutMs).catch((error: unknown) => ({ stage: 'connect' as const, error }));
      const what = `${subject}: CONNECT ${formatAddr(target)}`;
      out.push(result.error ? finding('FAIL', what, `${errorMessage(result.error)} (the route decides where it goes: see socksgate route explain --inbound socks)`) : finding('ok', what, `connected, ${login}`));
    }
  }
  return out;
}
