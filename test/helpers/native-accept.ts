// Loopback connections as the native acceptor hands them over, for tests of what runs on an
// accepted fd (the native dialer, the native session).
import { once } from 'node:events';
import net from 'node:net';
import { addrOf } from '../../src/core/addr.js';
import { listenTcpFd } from '../../src/native/index.js';
import { acceptTcp, type AcceptedFd } from '../../src/native/tcp-accept.js';

/** A loopback port nobody listens on right now (bound by Node, then released). */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A connected client socket and its accepted end, a raw fd from acceptTcp; `cleanups` gets the client's destroy. */
export async function acceptedPair(cleanups: (() => unknown)[], opts: { allowHalfOpen?: boolean } = {}): Promise<{ client: net.Socket; accepted: AcceptedFd }> {
  const port = await closedPort();
  let acceptor!: ReturnType<typeof acceptTcp>;
  const accepted = new Promise<AcceptedFd>((resolve) => {
    acceptor = acceptTcp(listenTcpFd(addrOf('127.0.0.1', port)), 'local', resolve, () => {});
  });
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false });
  client.on('error', () => {});
  cleanups.push(() => client.destroy());
  const conn = await accepted;
  acceptor.close();
  await once(client, 'connect');
  return { client, accepted: conn };
}

/** How the client side ended once its peer went away: 'reset' (ECONNRESET), 'closed', or 'error CODE'. */
export function clientEnd(client: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    client.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNRESET' ? 'reset' : `error ${err.code}`));
    client.once('close', () => resolve('closed'));
    client.resume();
  });
}
