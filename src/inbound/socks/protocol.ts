/** The protocols one proxy port serves, told apart by the client's first byte. */
export type ProxyProtocol = 'socks5' | 'socks4' | 'http';

/**
 * SOCKS5 greetings start with their version 5, SOCKS4 requests with 4, and HTTP requests with a
 * method in capital letters; nothing else is served.
 */
export function protocolOf(firstByte: number): ProxyProtocol | undefined {
  if (firstByte === 0x05) return 'socks5';
  if (firstByte === 0x04) return 'socks4';
  if (firstByte >= 0x41 && firstByte <= 0x5a) return 'http';
  return undefined;
}
