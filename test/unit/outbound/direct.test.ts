// DirectOutbound (src/outbound/direct.ts): the native plan of a direct flow, and the name resolution
// that comes before it, with the same errors (so the same proxy replies) as the Node dial's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addrOf } from '../../../src/core/addr.js';
import { ErrorCode, SgError, errorCode } from '../../../src/core/errors.js';
import { failureOf } from '../../../src/inbound/socks/reply-code.js';
import { DirectOutbound, NO_HANDSHAKE } from '../../../src/outbound/direct.js';
import { testOutboundSettings } from '../../helpers/outbounds.js';

const NAME = { kind: 'domain', host: 'web.lab.test', port: 8080 } as const;

test('an address is planned as it is; a name is not planned until resolveAddress turned it into one', () => {
  const direct = new DirectOutbound(testOutboundSettings({ mark: 7, connectTimeoutMs: 1234 }), () => assert.fail('an address is not resolved'));
  const to = addrOf('198.51.100.2', 80);
  const plan = direct.plan(to)!;
  assert.equal(plan.server, to);
  assert.deepEqual([plan.mark, plan.connectTimeoutMs, plan.handshake], [7, 1234, NO_HANDSHAKE]);
  assert.equal(direct.plan(NAME), undefined);
});

test('resolveAddress asks the direct resolver, keeps the port and the IPv6 kind, and passes an address through untouched', async () => {
  const asked: string[] = [];
  const direct = new DirectOutbound(testOutboundSettings(), async (host) => (asked.push(host), host === NAME.host ? '2001:db8::5' : '192.0.2.9'));
  assert.deepEqual(await direct.resolveAddress(NAME), addrOf('2001:db8::5', 8080));
  const address = addrOf('203.0.113.1', 443);
  assert.equal(await direct.resolveAddress(address), address);
  assert.deepEqual(asked, [NAME.host]);
});

test('a name that does not resolve is UPSTREAM_UNREACHABLE with the resolver\'s error as cause: host unreachable to a proxy client', async () => {
  const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND web.lab.test'), { code: 'ENOTFOUND' });
  const rejected = new SgError(ErrorCode.REJECTED, 'web.lab.test is rejected by dns.rules (r1)');
  for (const cause of [notFound, rejected]) {
    const direct = new DirectOutbound(testOutboundSettings(), () => Promise.reject(cause));
    const err = await direct.resolveAddress(NAME).then(() => assert.fail('resolved'), (e: unknown) => e as SgError);
    assert.equal(errorCode(err), ErrorCode.UPSTREAM_UNREACHABLE);
    assert.equal(err.cause, cause);
    assert.match(err.message, /cannot resolve web\.lab\.test for a direct connection/);
    assert.equal(failureOf(err), 'host-unreachable');
  }
});
