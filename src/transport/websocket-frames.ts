/** RFC 6455 §5.2 opcodes. */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** RFC 6455 §7.4.1 close codes the transport itself uses. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  /** Reported to a handler when the peer's close frame carried no code; never sent. */
  noStatus: 1005,
  /** Reported to a handler when the socket ended without a close frame; never sent. */
  abnormal: 1006,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
} as const;

/**
 * What a peer can do wrong at the WebSocket level, with the close code it gets. The name is
 * the `code` label of `switchboard_errors_total` for the socket's dialect; the close reason
 * names the exact rule or limit.
 */
export const TransportViolation = {
  PROTOCOL_ERROR: {
    close: CloseCode.protocolError,
    meaning:
      'A frame that breaks RFC 6455: unmasked, RSV bits or a reserved opcode, a fragmented or over-125-byte control frame, a continuation with nothing to continue, a new message inside a fragmented one, an invalid close code.',
  },
  INVALID_UTF8: { close: CloseCode.invalidPayload, meaning: 'A text message or close reason that is not valid UTF-8.' },
  FRAME_TOO_LARGE: {
    close: CloseCode.messageTooBig,
    meaning: "A frame whose payload is over the dialect's `maxFrameBytes`: caught at its header, before the payload is read.",
  },
  MESSAGE_TOO_LARGE: { close: CloseCode.messageTooBig, meaning: "A message, all its frames together, over the dialect's `maxMessageBytes`." },
} as const;
export type TransportViolation = keyof typeof TransportViolation;

/** Codes a peer may put in a close frame (RFC 6455 §7.4, IANA registry; 4000–4999 private). */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** Payloads up to this size are copied behind their header so a frame is one write. */
const COPY_LIMIT = 16 * 1024;

function headerLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10;
}

/** A final, unmasked (server-to-client) frame header for `payloadLength`, at `target[0]`. */
function writeHeader(target: Uint8Array, opcode: Opcode, payloadLength: number): void {
  target[0] = 0x80 | opcode;
  if (payloadLength < 126) {
    target[1] = payloadLength;
  } else if (payloadLength < 0x10000) {
    target[1] = 126;
    target[2] = payloadLength >>> 8;
    target[3] = payloadLength & 0xff;
  } else {
    target[1] = 127;
    const high = Math.floor(payloadLength / 0x100000000);
    const low = payloadLength >>> 0;
    target[2] = 0;
    target[3] = 0;
    target[4] = (high >>> 8) & 0xff;
    target[5] = high & 0xff;
    target[6] = low >>> 24;
    target[7] = (low >>> 16) & 0xff;
    target[8] = (low >>> 8) & 0xff;
    target[9] = low & 0xff;
  }
}

/**
 * One frame as the chunks to write: header and payload in a single buffer when the payload
 * is small (one write, one iovec), apart when copying it would cost more than the iovec.
 */
export function encodeFrame(opcode: Opcode, payload: string | Uint8Array): [Buffer] | [Buffer, Uint8Array] {
  if (typeof payload === 'string') {
    const length = Buffer.byteLength(payload);
    const h = headerLength(length);
    const frame = Buffer.allocUnsafe(h + length);
    writeHeader(frame, opcode, length);
    frame.write(payload, h, length, 'utf8');
    return [frame];
  }
  const length = payload.length;
  const h = headerLength(length);
  if (length > COPY_LIMIT) {
    const header = Buffer.allocUnsafe(h);
    writeHeader(header, opcode, length);
    return [header, payload];
  }
  const frame = Buffer.allocUnsafe(h + length);
  writeHeader(frame, opcode, length);
  frame.set(payload, h);
  return [frame];
}

/** A text frame of `head` + `body` + `tail` in one buffer: the body is copied once, into place. */
export function encodeSplicedFrame(head: Uint8Array, body: Uint8Array, tail: Uint8Array): Buffer {
  const length = head.length + body.length + tail.length;
  const h = headerLength(length);
  const frame = Buffer.allocUnsafe(h + length);
  writeHeader(frame, Opcode.text, length);
  frame.set(head, h);
  frame.set(body, h + head.length);
  frame.set(tail, h + head.length + body.length);
  return frame;
}

/** A close frame's payload: the code, then the reason, cut to the 123 bytes it may hold. */
export function closePayload(code: number, reason: string): Buffer {
  const reasonBytes = Buffer.from(reason);
  const payload = Buffer.allocUnsafe(2 + (reasonBytes.length > 123 ? 0 : reasonBytes.length));
  payload.writeUInt16BE(code, 0);
  if (reasonBytes.length <= 123) reasonBytes.copy(payload, 2);
  return payload;
}

/**
 * XORs `data[start, end)` in place with the mask key `mask` (its 4 bytes as a big-endian
 * number), starting at key byte `phase`. The aligned middle goes a 32-bit word at a time: a
 * 1 KiB payload is 256 XORs, not 1024.
 */
export function unmask(data: Uint8Array, start: number, end: number, mask: number, phase = 0): void {
  let i = start;
  let j = phase;
  const base = data.byteOffset;
  while (i < end && (base + i) % 4 !== 0) data[i++]! ^= maskByte(mask, j++);
  const words = (end - i) >>> 2;
  if (words >= 4) {
    const word = maskWord(maskByte(mask, j), maskByte(mask, j + 1), maskByte(mask, j + 2), maskByte(mask, j + 3));
    const view = new Int32Array(data.buffer, base + i, words);
    for (let w = 0; w < words; w++) view[w]! ^= word;
    i += words * 4;
  }
  while (i < end) data[i++]! ^= maskByte(mask, j++);
}

function maskByte(mask: number, index: number): number {
  return (mask >>> (24 - 8 * (index & 3))) & 0xff;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The 32-bit word whose bytes in memory are a, b, c, d on this machine. */
function maskWord(a: number, b: number, c: number, d: number): number {
  // Signed, as Int32Array elements are: the XOR then stays in 32-bit integers.
  return LITTLE_ENDIAN ? a | (b << 8) | (c << 16) | (d << 24) : (a << 24) | (b << 16) | (c << 8) | d;
}
