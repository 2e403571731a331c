import type { Handshake, HandshakeProgress } from '../adapter/handshake.js';
import type { SocksAddr } from '../core/addr.js';
import { NEED_MORE } from '../core/need-more.js';
import { NativeDial, NO_CLIENT } from '../native/tcp-dial.js';
import { handshakeFailure } from './handshake.js';
import { nativeDialError } from './native-dial-error.js';

export interface OwnHandshakeOptions {
  /** An IP literal. */
  readonly server: SocksAddr;
  readonly mark: number;
  readonly connectTimeoutMs: number;
  /** The longest the handshake may take, whatever the connect took. */
  readonly handshakeTimeoutMs: number;
  /** The handshake's deadline from how long the connect took (called once, when connected; not at all if it never was). */
  deadlineMs(connectMs: number): number;
}

const NOTHING = Buffer.alloc(0);

/**
 * Runs `handshake` to its end on a connection of the daemon's own (a pipelining probe), in the
 * addon's dialer with no client: no Node socket, so an idle daemon never loads node:net for it.
 * Resolves once the handshake completed; rejects with the error the Node socket path (connectTcp,
 * runHandshake) gives. The connection is closed either way. The opening goes out only once
 * connected, when the deadline that depends on the connect's time is known; steps are taken as
 * runHandshake takes them, so the handshake judges alike on either path.
 */
export function ownHandshake(opts: OwnHandshakeOptions, handshake: Handshake): Promise<void> {
  const { server, mark, connectTimeoutMs } = opts;
  return new Promise<void>((resolve, reject) => {
    const startedAt = Date.now();
    let timeoutMs = opts.handshakeTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let connected = false;
    const end = (err?: unknown) => {
      clearTimeout(timer);
      if (err === undefined) resolve();
      else reject(err);
    };
    // An empty opening: the addon reports the connect itself (no bytes) before anything is written.
    const dial = new NativeDial(NO_CLIENT, { server, mark, opening: NOTHING, connectTimeoutMs, handshakeTimeoutMs: opts.handshakeTimeoutMs }, {
      onData(received) {
        if (!connected) {
          connected = true;
          timeoutMs = opts.deadlineMs(Date.now() - startedAt);
          timer = setTimeout(() => {
            dial.abort();
            end(handshakeFailure('timeout', handshake, timeoutMs));
          }, timeoutMs);
          dial.send(handshake.opening);
          return;
        }
        let progress: HandshakeProgress;
        try {
          while ((progress = handshake.advance(received)) !== NEED_MORE && 'send' in progress) dial.send(progress.send);
        } catch (err) {
          dial.abort();
          return end(err);
        }
        if (progress === NEED_MORE) return;
        dial.abort();
        end();
      },
      onFailure(failure, errno) {
        end(nativeDialError({ server, connectTimeoutMs, handshakeTimeoutMs: timeoutMs, handshake }, failure, errno));
      },
    });
  });
}
