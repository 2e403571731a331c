import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { test } from 'node:test';
import type { Outbound } from '../../../src/adapter/outbound.js';
import type { SocksAddr } from '../../../src/core/addr.js';
import { ErrorCode } from '../../../src/core/errors.js';
import { viaOutbound } from '../../../src/route/routed-outbound.js';
import { noUdp } from '../../helpers/outbounds.js';

const RESOLVER: SocksAddr = { kind: 'ipv4', host: '192.0.2.53', port: 53 };

/** An outbound that records the destinations it was asked to dial. */
function recording(name: string, server: SocksAddr): Outbound & { dialed: string[] } {
  const dialed: string[] = [];
  return { name, server, dialed, dial: async (dst) => (dialed.push(`${dst.host}:${dst.port}`), new Socket()), associate: noUdp };
}

test('via: direct dials with the route\'s direct outbound, via NAME with that upstream, each looked up at every dial', async () => {
  const direct = recording('direct', { kind: 'ipv4', host: '0.0.0.0', port: 0 });
  const dante = recording('dante', { kind: 'ipv4', host: '198.51.100.1', port: 1080 });
  const targets: { outbounds: Map<string, Outbound>; direct: Outbound } = { outbounds: new Map([['dante', dante]]), direct };
  const viaDirect = viaOutbound(targets, 'direct');
  const viaDante = viaOutbound(targets, 'dante');
  await viaDirect.dial(RESOLVER, { flowId: 0 });
  await viaDante.dial(RESOLVER, { flowId: 0 });
  assert.deepEqual([direct.dialed, dante.dialed], [['192.0.2.53:53'], ['192.0.2.53:53']]);
  assert.equal(viaDante.server, dante.server);

  // A reload that swaps the upstreams: the next dial takes the new one of that name.
  const dante2 = recording('dante', { kind: 'ipv4', host: '198.51.100.2', port: 1080 });
  targets.outbounds = new Map([['dante', dante2]]);
  await viaDante.dial(RESOLVER, { flowId: 0 });
  assert.deepEqual(dante2.dialed, ['192.0.2.53:53']);

  // A reload that removed it: the dial fails (a rejected promise, never a throw), the DNS rules keep the name until a restart.
  targets.outbounds = new Map();
  assert.equal(viaDante.server.host, '0.0.0.0');
  await assert.rejects(viaDante.dial(RESOLVER, { flowId: 0 }), (err: Error & { code?: string }) => err.code === ErrorCode.UPSTREAM_UNREACHABLE && /no upstream is named "dante"/.test(err.message));
});
