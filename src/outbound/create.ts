import type { UpstreamConfig } from '../config/upstream.js';
import type { Logger } from '../core/log.js';
import { httpConnectHandshake } from './http-connect.js';
import type { DialSettings, Outbound } from '../adapter/outbound.js';
import { SingleRequestOutbound } from './single-request.js';
import { Socks5Outbound } from './socks5.js';
import { socks4Handshake } from './socks4.js';

export function createOutbound(upstream: UpstreamConfig, settings: DialSettings, log: Logger): Outbound {
  switch (upstream.protocol) {
    case 'socks5':
      return new Socks5Outbound(upstream, settings, log);
    case 'socks4':
    case 'socks4a':
      return new SingleRequestOutbound(upstream, settings, socks4Handshake(upstream.username ?? '', upstream.protocol === 'socks4a'));
    case 'http': {
      const auth = upstream.username === undefined ? undefined : { username: upstream.username, password: upstream.password ?? '' };
      return new SingleRequestOutbound(upstream, settings, httpConnectHandshake(auth));
    }
  }
}
