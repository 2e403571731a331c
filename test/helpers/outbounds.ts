import { createUdpCounters } from '../../src/adapter/udp-counters.js';
import type { UdpAssociation } from '../../src/adapter/udp.js';
import { ErrorCode, SgError } from '../../src/core/errors.js';
import { openUdpSocket } from '../../src/native/index.js';
import type { OutboundSettings } from '../../src/outbound/registry.js';

/** An outbound's settings for tests: no mark, short timeouts, real UDP sockets. */
export function testOutboundSettings(overrides: Partial<OutboundSettings> = {}): OutboundSettings {
  return {
    mark: 0,
    connectTimeoutMs: 2_000,
    handshakeTimeoutMs: 2_000,
    sendSource: false,
    retryNoUdpMs: 30_000,
    openSocket: (family) => openUdpSocket(family === 'ipv6' ? { kind: 'ipv6', host: '::', port: 0 } : { kind: 'ipv4', host: '0.0.0.0', port: 0 }, {}),
    udpCounters: createUdpCounters(),
    ...overrides,
  };
}

/** `associate` for a fake outbound that has no UDP. */
export function noUdp(): Promise<UdpAssociation> {
  return Promise.reject(new SgError(ErrorCode.UDP_UNSUPPORTED, 'no UDP in this test'));
}
