import type { SocksAddr } from '../core/addr.js';
import type { Config } from '../config/load.js';

/** Every address the daemon accepts on: flows headed to one of them would come back to it (LoopGuard). */
export function guardedListeners(config: Config): SocksAddr[] {
  return [...config.redirect, ...config.tproxy, ...config.inbounds.socks.map((entry) => entry.listen)];
}
