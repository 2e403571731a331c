import type { UdpCounters } from '../adapter/udp-counters.js';
import type { Socks5UdpSettings } from './socks5-udp.js';

/** What every outbound of one config shares. */
export interface OutboundSettings extends Socks5UdpSettings {
  readonly udpCounters: UdpCounters;
}
