import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { NEED_MORE, type Decoder } from '../../src/core/need-more.js';
import {
  AuthMethod,
  decodeGreeting,
  decodeRequest,
  decodeUserPassRequest,
  encodeMethodSelection,
  encodeReply,
  encodeUserPassReply,
} from '../../src/codec/socks5.js';

export interface FakeSocks5Options {
  credentials?: { username: string; password: string };
  /** Like microsocks: handle one message per read and throw the rest of that read away. */
  dropsPipelined?: boolean;
  /** What to answer the request with. 'echo' = success then echo bytes back. */
  reply?: 'echo' | 'garbage' | 'eof' | 'silent' | 'success-then-eof' | number;
}

export interface FakeSocks5 {
  server: Server;
  port: number;
  /** Every chunk each connection received, in order (to count reads). */
  reads: Buffer[][];
  close(): Promise<void>;
}

/** A scripted in-process SOCKS5 server for odd upstream behaviour; real servers are tested in e2e. */
export async function startFakeSocks5(opts: FakeSocks5Options = {}): Promise<FakeSocks5> {
  const reads: Buffer[][] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const log: Buffer[] = [];
    reads.push(log);
    let buffered = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'request' | 'done' = 'greeting';

    function take<T>(decode: Decoder<T>): T | undefined {
      const r = decode(buffered, 0);
      if (r === NEED_MORE) return undefined;
      buffered = opts.dropsPipelined ? Buffer.alloc(0) : buffered.subarray(r.bytesRead);
      return r.value;
    }

    socket.on('data', (chunk) => {
      log.push(chunk);
      if (stage === 'done') {
        if (opts.reply === 'echo' || opts.reply === undefined) socket.write(chunk);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (stage === 'greeting') {
          const greeting = take(decodeGreeting);
          if (!greeting) return;
          const method = opts.credentials ? AuthMethod.USERPASS : AuthMethod.NONE;
          socket.write(encodeMethodSelection(greeting.methods.includes(method) ? method : AuthMethod.NO_ACCEPTABLE));
          stage = opts.credentials ? 'auth' : 'request';
        } else if (stage === 'auth') {
          const login = take(decodeUserPassRequest);
          if (!login) return;
          const ok = login.username === opts.credentials?.username && login.password === opts.credentials?.password;
          socket.write(encodeUserPassReply(ok ? 0 : 1));
          if (!ok) return void socket.end();
          stage = 'request';
        } else if (stage === 'request') {
          const request = take(decodeRequest);
          if (!request) return;
          stage = 'done';
          const reply = opts.reply ?? 'echo';
          const bound = { kind: 'ipv4', host: '127.0.0.1', port: 1 } as const;
          if (reply === 'garbage') socket.end(Buffer.from('HTTP/1.0 400 Bad Request\r\n\r\n'));
          else if (reply === 'eof') socket.end();
          else if (reply === 'silent') return;
          else if (reply === 'success-then-eof') socket.end(encodeReply(0, bound));
          else socket.write(encodeReply(reply === 'echo' ? 0 : reply, bound));
          if (reply === 'echo' && buffered.length) socket.write(buffered);
          return;
        } else return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    reads,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
