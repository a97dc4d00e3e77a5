// The mobz wire as the bench's clients speak it: ids, the frames they send (built as
// text, ASCII only: RawWs writes strings as latin1) and a byte-level classification of
// what they receive, so the hot path never parses JSON.

export interface MemberId {
  room: number;
  k: number;
  rid: string;
  userId: string;
  sessionId: string;
  /** the JOIN's `ss`, as JSON text */
  ss: string;
}

export function memberId(room: number, k: number): MemberId {
  const userId = `u${room}-${k}`;
  const sessionId = `s${room}-${k}`;
  return { room, k, rid: `bench-r${room}`, userId, sessionId, ss: `{"userId":"${userId}","sessionId":"${sessionId}","host":"Web","category":"stream","deviceId":"d${room}-${k}"}` };
}

export function joinText(m: MemberId, creating: boolean): string {
  const op = creating ? ',"op":{"roomCreating":true}' : '';
  return `{"action":"join","data":{"s":"JOIN","ch":"m2m","ss":${m.ss},"rid":"${m.rid}","ve":true,"ae":true,"eg":"native"${op}}}`;
}

/** The heartbeat frame is prefix + bid + HB_SUFFIX; the bid is a run-wide sequence number. */
export const hbPrefix = (m: MemberId): string => `{"action":"heartbeat","data":{"s":"HEARTBEAT","ch":"m2m","ss":${m.ss},"rid":"${m.rid}","bid":"`;
export const HB_SUFFIX = '","send_ack":true}}';

/**
 * The six signals of one exchange, by `bk`: the offerer sends OFFER (0) and two ICE (1, 2)
 * to the answerer, which replies ANSWER (3) and two ICE (4, 5).
 */
export const EXCHANGE_SIGNALS = 6;
const ROUTE = ['offer', 'iceCandidate', 'iceCandidate', 'answer', 'iceCandidate', 'iceCandidate'] as const;
const NAME = ['OFFER', 'ICE', 'ICE', 'ANSWER', 'ICE', 'ICE'] as const;
export const toAnswerer = (bk: number): boolean => bk < 3;

const CANDIDATE = 'candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sXy4';

/**
 * One signal. Its `sdp` starts with `bts=<µs send time>;bx=<exchange>;bk=<kind>;` (the
 * server forwards the signal byte for byte, so the receiver finds them there), then
 * filler: `sdpChars` in all for OFFER/ANSWER, a realistic candidate line for ICE.
 */
export function signalText(from: MemberId, to: MemberId, bk: number, bx: number, tsUs: number, sdpChars: number): string {
  const head = `bts=${tsUs};bx=${bx};bk=${bk};`;
  const sdp = NAME[bk] === 'ICE' ? head + CANDIDATE : head + 'x'.repeat(Math.max(0, sdpChars - head.length));
  return `{"action":"${ROUTE[bk]}","data":{"s":"${NAME[bk]}","ch":"m2m","ss":${from.ss},"rid":"${from.rid}","sdp":"${sdp}","to":{"userId":"${to.userId}","sessionId":"${to.sessionId}"}}}`;
}

// ---------------------------------------------------------------- what arrives

export const Kind = {
  hbAck: 0,
  joinAck: 1,
  publishListChanged: 2,
  keepalive: 3,
  signal: 4,
  errorAck: 5,
  unknown: 6,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

const ACK = Buffer.from('{"c":200,"s":"');
const ERR = Buffer.from('{"c":');
const SIG = Buffer.from('{"s":"');
const startsWith = (buf: Buffer, start: number, end: number, p: Buffer): boolean => end - start >= p.length && buf.compare(p, 0, p.length, start, start + p.length) === 0;

/** Server frames are acks `{"c":200,"s":"<NAME>"…`, error acks `{"c":<code>…`, or forwarded signals `{"s":"<NAME>"…`. */
export function kindOf(buf: Buffer, start: number, end: number): Kind {
  if (startsWith(buf, start, end, ACK)) {
    switch (buf[start + ACK.length]) {
      case 0x48: // H
        return Kind.hbAck;
      case 0x4a: // J
        return Kind.joinAck;
      case 0x50: // P
        return Kind.publishListChanged;
      case 0x4b: // K
        return Kind.keepalive;
      default:
        return Kind.unknown;
    }
  }
  if (startsWith(buf, start, end, ERR)) return Kind.errorAck;
  if (startsWith(buf, start, end, SIG)) return Kind.signal;
  return Kind.unknown;
}

/** The unsigned integer right after `key` (searched from `from`, backwards if `last`), or -1. */
export function uintAfter(buf: Buffer, key: Buffer, start: number, end: number, last = false): number {
  const i = last ? buf.lastIndexOf(key, end - key.length) : buf.indexOf(key, start);
  if (i < start || i + key.length > end) return -1;
  let p = i + key.length;
  let v = 0;
  const first = p;
  while (p < end) {
    const c = buf[p]!;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    p++;
  }
  return p === first ? -1 : v;
}

export const BID = Buffer.from('"bid":"');
export const BTS = Buffer.from('bts=');
export const BX = Buffer.from(';bx=');
export const BK = Buffer.from(';bk=');
