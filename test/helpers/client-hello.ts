import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect } from 'node:tls';

/** A real ClientHello from Node's TLS stack (OpenSSL) for `servername`: the first record it sends. */
export async function captureClientHello(servername?: string): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const tls = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername, rejectUnauthorized: false });
  tls.on('error', () => {});
  const [socket] = (await once(server, 'connection')) as [Socket];
  let hello = Buffer.alloc(0);
  while (hello.length < 5 || hello.length < 5 + hello.readUInt16BE(3)) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    hello = Buffer.concat([hello, chunk]);
  }
  tls.destroy();
  socket.destroy();
  server.close();
  return hello.subarray(0, 5 + hello.readUInt16BE(3));
}
