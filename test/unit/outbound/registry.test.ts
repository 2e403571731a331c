// outbound/registry.ts: one Outbound per upstream, TCP and UDP in one object.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { addrOf } from '../../../src/core/addr.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { createOutbound } from '../../../src/outbound/registry.js';
import { WatchedOutbound } from '../../../src/outbound/watched-outbound.js';
import { closedPort } from '../../helpers/native-accept.js';
import { testOutboundSettings } from '../../helpers/outbounds.js';

const log = pino({ level: 'silent' });
const events = { onReply: () => {}, onClose: () => {} };

test('an association aborted before it opens rejects as aborted, through the watched outbound too (the signal reaches the dialer)', async () => {
  const server = addrOf('127.0.0.1', await closedPort());
  const outbound = new WatchedOutbound(createOutbound({ name: 's5', protocol: 'socks5', server, pipelining: 'off' }, testOutboundSettings(), log));
  await assert.rejects(outbound.associate(addrOf('0.0.0.0', 0), events, AbortSignal.abort()), { code: ErrorCode.ABORTED });
  // Without the signal the same dial is refused by the closed port.
  await assert.rejects(outbound.associate(addrOf('0.0.0.0', 0), events), { code: ErrorCode.UPSTREAM_UNREACHABLE });
});

test('SOCKS4 and HTTP CONNECT outbounds refuse UDP with SG_ERR_UDP_UNSUPPORTED', async () => {
  const server = addrOf('127.0.0.1', 1080);
  for (const protocol of ['socks4', 'socks4a', 'http'] as const) {
    const outbound = createOutbound({ name: protocol, protocol, server, pipelining: 'auto' }, testOutboundSettings(), log);
    await assert.rejects(outbound.associate(addrOf('0.0.0.0', 0), events), { code: ErrorCode.UDP_UNSUPPORTED });
  }
});
