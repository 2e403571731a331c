/** The part of dns-packet 5.x that socksgate uses (the package ships no types). */
declare module 'dns-packet' {
  export interface Question {
    name: string;
    type: string;
    class?: string;
  }
  export interface OptAnswer {
    type: 'OPT';
    name: string;
    udpPayloadSize?: number;
    extendedRcode?: number;
    ednsVersion?: number;
    flags?: number;
    flag_do?: boolean;
    options?: unknown[];
  }
  export interface SoaData {
    mname: string;
    rname: string;
    serial: number;
    refresh: number;
    retry: number;
    expire: number;
    minimum: number;
  }
  export interface RecordAnswer {
    type: string;
    name: string;
    class?: string;
    ttl?: number;
    flush?: boolean;
    data?: unknown;
  }
  export type Answer = RecordAnswer | OptAnswer;
  export interface Packet {
    id?: number;
    type?: 'query' | 'response';
    flags?: number;
    opcode?: string;
    rcode?: string;
    flag_qr?: boolean;
    flag_aa?: boolean;
    flag_tc?: boolean;
    flag_rd?: boolean;
    flag_ra?: boolean;
    flag_ad?: boolean;
    flag_cd?: boolean;
    questions?: Question[];
    answers?: Answer[];
    authorities?: Answer[];
    additionals?: Answer[];
  }
  export const AUTHORITATIVE_ANSWER: number;
  export const TRUNCATED_RESPONSE: number;
  export const RECURSION_DESIRED: number;
  export const RECURSION_AVAILABLE: number;
  export const AUTHENTIC_DATA: number;
  export const CHECKING_DISABLED: number;
  export const DNSSEC_OK: number;
  export function encode(packet: Packet): Buffer;
  export function decode(buf: Buffer): Packet;
  export function encodingLength(packet: Packet): number;
  const dnsPacket: {
    encode: typeof encode;
    decode: typeof decode;
    encodingLength: typeof encodingLength;
    AUTHORITATIVE_ANSWER: number;
    TRUNCATED_RESPONSE: number;
    RECURSION_DESIRED: number;
    RECURSION_AVAILABLE: number;
    CHECKING_DISABLED: number;
  };
  export default dnsPacket;
}
