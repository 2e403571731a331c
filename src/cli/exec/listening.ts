import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { parseIp } from '../../codec/ip.js';
import type { SocksAddr } from '../../core/addr.js';

/**
 * Whether a TCP socket of this network namespace listens where `at` is reached: on its address or
 * a wildcard. Read from /proc/net/tcp{,6} rather than by connecting, which a socksgate listener
 * would log as a connection that no rule diverted.
 */
export function tcpListening(at: SocksAddr, tables: readonly string[] = readTcpTables()): boolean {
  if (at.kind === 'domain') return false;
  const own = procAddress(parseIp(at.kind, at.host));
  const wildcards = [procAddress(Buffer.alloc(4)), procAddress(Buffer.alloc(16))];
  const port = at.port.toString(16).toUpperCase().padStart(4, '0');
  return tables.some((table) =>
    table.split('\n').some((line) => {
      // "  0: 0100007F:3039 00000000:0000 0A …": local address:port, remote, state (0A = LISTEN)
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || local === undefined) return false;
      const [address, localPort] = local.split(':');
      return localPort === port && (address === own || wildcards.includes(address ?? ''));
    }),
  );
}

function readTcpTables(): string[] {
  return ['/proc/net/tcp', '/proc/net/tcp6'].map((file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return ''; // no IPv6 in this kernel
    }
  });
}

/** The kernel prints an address as 32-bit words in host byte order, each as %08X. */
function procAddress(bytes: Buffer | undefined): string | undefined {
  if (!bytes) return undefined;
  const words: string[] = [];
  for (let i = 0; i < bytes.length; i += 4) {
    const word = endianness() === 'LE' ? bytes.readUInt32LE(i) : bytes.readUInt32BE(i);
    words.push(word.toString(16).toUpperCase().padStart(8, '0'));
  }
  return words.join('');
}
