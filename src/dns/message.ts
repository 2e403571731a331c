/**
 * DNS messages as socksgate handles them: parse a client's query (or say why it cannot), and build
 * the responses socksgate writes itself (fake-IP, errors). All of it goes through dns-packet; this
 * file only adds the rules dns-packet leaves to its caller (one question, a sane name, EDNS0 sizes,
 * truncation). Upstream answers are not rebuilt here: see wire-answer.ts.
 */
import dnsPacket, { type Answer, type OptAnswer, type Packet, type Question } from 'dns-packet';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type RcodeName = keyof typeof RCODE;

/** Classic DNS over UDP without EDNS0 (RFC 1035 §4.2.1). */
export const UDP_MIN_PAYLOAD = 512;
/** What we advertise and cap client buffers at: the DNS flag day 2020 value, safe from fragmentation. */
export const UDP_MAX_PAYLOAD = 1232;

export interface ClientQuery {
  readonly id: number;
  readonly question: Question;
  readonly rd: boolean;
  readonly cd: boolean;
  /** The client's EDNS0 UDP buffer size, undefined when it sent no OPT record. */
  readonly ednsSize: number | undefined;
}

export type ParsedQuery =
  | { readonly ok: true; readonly query: ClientQuery }
  /** `reply` is what to send back (FORMERR/NOTIMP), undefined when the bytes deserve silence. */
  | { readonly ok: false; readonly reply: Buffer | undefined; readonly reason: string };

// Printable ASCII without spaces: what survives dns-packet's text form of a name unchanged.
const NAME_CHARS = /^[\x21-\x7e]*$/;

/** A name we can forward without changing its meaning: labels of 1..63 bytes, no escapes. */
export function isForwardableName(name: string): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare === '') return true;
  if (!NAME_CHARS.test(bare) || bare.includes('\\') || bare.length > 253) return false;
  return bare.split('.').every((label) => label.length >= 1 && label.length <= 63);
}

/** FORMERR/NOTIMP straight from the header, for queries that cannot be decoded as a whole. */
function headerOnlyReply(raw: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  raw.copy(out, 0, 0, 2);
  const opcode = (raw[2] >> 3) & 0x0f;
  const rd = raw[2] & 0x01;
  out[2] = 0x80 | (opcode << 3) | rd;
  out[3] = 0x80 | rcode;
  return out;
}

function isOpt(answer: Answer): answer is OptAnswer {
  return answer.type === 'OPT';
}

/**
 * Anything that is not a well-formed standard query gets FORMERR (or NOTIMP for other opcodes);
 * bytes too short to carry an id, and responses (QR set: reflection bait), get nothing.
 */
export function parseClientQuery(raw: Buffer): ParsedQuery {
  if (raw.length < 12) return { ok: false, reply: undefined, reason: 'shorter than a DNS header' };
  if (raw[2] & 0x80) return { ok: false, reply: undefined, reason: 'a response, not a query' };
  const opcode = (raw[2] >> 3) & 0x0f;
  if (opcode !== 0) return { ok: false, reply: headerOnlyReply(raw, RCODE.NOTIMP), reason: `opcode ${opcode}` };
  let packet: Packet;
  try {
    packet = dnsPacket.decode(raw);
  } catch {
    return { ok: false, reply: headerOnlyReply(raw, RCODE.FORMERR), reason: 'undecodable' };
  }
  const questions = packet.questions ?? [];
  if (questions.length !== 1) return { ok: false, reply: headerOnlyReply(raw, RCODE.FORMERR), reason: `${questions.length} questions` };
  const question = questions[0];
  if (!isForwardableName(question.name) || /^UNKNOWN_/.test(question.class ?? 'IN')) {
    return { ok: false, reply: headerOnlyReply(raw, RCODE.FORMERR), reason: 'bad question' };
  }
  if ((packet.answers?.length ?? 0) > 0 || (packet.authorities?.length ?? 0) > 0) {
    return { ok: false, reply: headerOnlyReply(raw, RCODE.FORMERR), reason: 'records in a query' };
  }
  const opts = (packet.additionals ?? []).filter(isOpt);
  if (opts.length > 1) return { ok: false, reply: headerOnlyReply(raw, RCODE.FORMERR), reason: 'several OPT records' };
  return {
    ok: true,
    query: {
      id: packet.id ?? 0,
      question: { name: question.name, type: question.type, class: question.class ?? 'IN' },
      rd: packet.flag_rd === true,
      cd: packet.flag_cd === true,
      ednsSize: opts[0]?.udpPayloadSize,
    },
  };
}

/** The records of an answer socksgate makes itself, without the id, flags or OPT. */
export interface DnsResult {
  readonly rcode: RcodeName | string;
  readonly answers: Answer[];
  readonly authorities: Answer[];
  readonly additionals: Answer[];
}

/** The name of an RCODE value; those without one here read as dns-packet writes them (RCODE_6…). */
export function rcodeName(value: number): string {
  return (Object.keys(RCODE) as RcodeName[]).find((name) => RCODE[name] === value) ?? `RCODE_${value}`;
}

function rcodeValue(name: string): number {
  return name in RCODE ? RCODE[name as RcodeName] : RCODE.SERVFAIL;
}

/** A response to `query` carrying `result`; EDNS0 echoed when the client used it. */
export function buildResponse(query: ClientQuery, result: DnsResult, opts: { truncated?: boolean } = {}): Buffer {
  let flags = dnsPacket.RECURSION_AVAILABLE | rcodeValue(result.rcode);
  if (query.rd) flags |= dnsPacket.RECURSION_DESIRED;
  if (query.cd) flags |= dnsPacket.CHECKING_DISABLED;
  if (opts.truncated) flags |= dnsPacket.TRUNCATED_RESPONSE;
  const additionals: Answer[] = opts.truncated ? [] : result.additionals.filter((a) => !isOpt(a));
  if (query.ednsSize !== undefined) additionals.push({ type: 'OPT', name: '.', udpPayloadSize: UDP_MAX_PAYLOAD, flags: 0, options: [] });
  return dnsPacket.encode({
    id: query.id,
    type: 'response',
    flags,
    questions: [query.question],
    answers: opts.truncated ? [] : result.answers,
    authorities: opts.truncated ? [] : result.authorities,
    additionals,
  });
}

/** The largest UDP answer this client accepts (RFC 6891 §6.2.5: never below 512). */
export function udpLimit(query: ClientQuery): number {
  if (query.ednsSize === undefined) return UDP_MIN_PAYLOAD;
  return Math.min(Math.max(query.ednsSize, UDP_MIN_PAYLOAD), UDP_MAX_PAYLOAD);
}

/** The response for UDP: whole when it fits the client's buffer, else empty with TC so it retries over TCP. */
export function buildUdpResponse(query: ClientQuery, result: DnsResult): Buffer {
  const full = buildResponse(query, result);
  return full.length <= udpLimit(query) ? full : buildResponse(query, result, { truncated: true });
}

export function errorResult(rcode: RcodeName): DnsResult {
  return { rcode, answers: [], authorities: [], additionals: [] };
}

/** Names compare case-insensitively (RFC 4343) and without a trailing dot. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export function questionKey(q: Question): string {
  return `${normalizeName(q.name)}|${q.type}|${q.class ?? 'IN'}`;
}
