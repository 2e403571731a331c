import { decodeIpv4, decodeIpv6 } from '../codec/ip.js';
import { skipName, type WireAnswer } from './wire-answer.js';

const TYPE_A = 1;
const TYPE_AAAA = 28;

/**
 * The IPv4 and IPv6 addresses in an answer's answer section (A and AAAA records of any owner, so a
 * CNAME chain's final addresses count for the name asked). The layout was checked by readWireAnswer.
 */
export function answerAddresses(answer: WireAnswer): string[] {
  const { message } = answer;
  const addresses: string[] = [];
  let at = answer.questionEnd;
  for (let i = message.readUInt16BE(6); i > 0; i--) {
    const fields = skipName(message, at);
    const type = message.readUInt16BE(fields);
    const length = message.readUInt16BE(fields + 8);
    const rdata = fields + 10;
    if (type === TYPE_A && length === 4) addresses.push(decodeIpv4(message, rdata));
    else if (type === TYPE_AAAA && length === 16) addresses.push(decodeIpv6(message, rdata));
    at = rdata + length;
  }
  return addresses;
}
