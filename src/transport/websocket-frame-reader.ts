import { isUtf8 } from 'node:buffer';
import { ByteAccumulator } from './byte-accumulator.ts';
import { CloseCode, isSendableCloseCode, Opcode, unmask, type TransportViolation } from './websocket-frames.ts';

/** One endpoint's limits, shared by all its sockets' readers. */
export interface FrameLimits {
  /** The dialect whose config keys set these, named in close reasons. */
  readonly dialect: string;
  /** Largest message, all its frames together. */
  readonly maxMessageBytes: number;
  /** Largest single frame payload; Infinity for none. */
  readonly maxFrameBytes: number;
}

/** What a reader reports, in the order the peer sent it. */
export interface FrameSink {
  /** A whole message; `data` is unmasked and, for text, valid UTF-8. The sink may keep it. */
  onMessage(data: Buffer, binary: boolean): void;
  onPing(payload: Buffer): void;
  onPong(): void;
  /** The peer's close frame (code 1005 when it had none). Nothing more is read after it. */
  onCloseFrame(code: number, reason: string): void;
  /** The peer broke RFC 6455 or a limit. Nothing more is read after it. */
  onViolation(violation: TransportViolation, reason: string): void;
}

/** First capacity for a payload arriving over several reads (grows as bytes arrive). */
const FIRST_PARTIAL_CAPACITY = 16 * 1024;

/**
 * Parses a client's byte stream into messages (RFC 6455 §5), as it arrives in reads of any
 * size. The usual case — whole frames inside one read — is unmasked in place and handed on
 * as a view of the read: no copy, no allocation but the view. Limits are checked as soon as a
 * frame's header is complete, before any of its payload is held.
 */
export class WebSocketFrameReader {
  readonly #limits: FrameLimits;
  readonly #sink: FrameSink;
  #stopped = false;
  /** Header bytes that ended one read, waiting for the rest. */
  #headerStart: Buffer | undefined;
  /** Between a frame's header and the last byte of its payload, which spans reads. */
  #inPayload = false;
  // The frame in progress: read from its header, kept while its payload arrives.
  #opcode = 0;
  #fin = false;
  #mask = 0;
  #payloadLength = 0;
  #payload: ByteAccumulator | undefined;
  // The fragmented message in progress (after a non-final text or binary frame).
  #message: ByteAccumulator | undefined;
  #messageBinary = false;

  constructor(limits: FrameLimits, sink: FrameSink) {
    this.#limits = limits;
    this.#sink = sink;
  }

  /** Ignore everything from now on (the socket is being closed). */
  stop(): void {
    this.#stopped = true;
    this.#headerStart = undefined;
    this.#payload = undefined;
    this.#message = undefined;
  }

  feed(chunk: Buffer): void {
    let data = chunk;
    if (this.#headerStart !== undefined) {
      data = Buffer.concat([this.#headerStart, chunk]);
      this.#headerStart = undefined;
    }
    let at = 0;
    const end = data.length;
    while (at < end && !this.#stopped) {
      if (this.#inPayload) {
        at = this.#continuePayload(data, at);
        continue;
      }
      const headerEnd = this.#readHeader(data, at);
      if (headerEnd === -1) return;
      if (headerEnd === 0) {
        this.#headerStart = data.subarray(at);
        return;
      }
      at = headerEnd;
      const length = this.#payloadLength;
      if (end - at >= length) {
        // The whole payload is in this read: unmask it where it lies.
        unmask(data, at, at + length, this.#mask);
        const payload = data.subarray(at, at + length);
        at += length;
        this.#frameDone(payload);
      } else {
        this.#inPayload = true;
        this.#payload = new ByteAccumulator(Math.min(length, FIRST_PARTIAL_CAPACITY));
      }
    }
  }

  #continuePayload(data: Buffer, at: number): number {
    const payload = this.#payload!;
    const take = Math.min(this.#payloadLength - payload.length, data.length - at);
    payload.append(data, at, at + take, this.#payloadLength);
    if (payload.length === this.#payloadLength) {
      const bytes = payload.take();
      this.#payload = undefined;
      this.#inPayload = false;
      unmask(bytes, 0, bytes.length, this.#mask);
      this.#frameDone(bytes);
    }
    return at + take;
  }

  /**
   * Reads and checks the header at `at`: its end, 0 when the read ends inside it, or -1 after
   * a violation. What the first two bytes show is checked before waiting for the rest.
   */
  #readHeader(data: Buffer, at: number): number {
    const available = data.length - at;
    if (available < 2) return 0;
    const b0 = data[at]!;
    const b1 = data[at + 1]!;
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    if ((b0 & 0x70) !== 0) return this.#violate('PROTOCOL_ERROR', 'RSV bits set without a negotiated extension');
    if ((b1 & 0x80) === 0) return this.#violate('PROTOCOL_ERROR', 'client frames must be masked');
    if (opcode >= 0x8) {
      if (opcode !== Opcode.close && opcode !== Opcode.ping && opcode !== Opcode.pong) return this.#violate('PROTOCOL_ERROR', `unknown opcode ${opcode}`);
      if (!fin) return this.#violate('PROTOCOL_ERROR', 'control frames must not be fragmented');
      if (length7 > 125) return this.#violate('PROTOCOL_ERROR', 'control frame payload over 125 bytes');
    } else if (opcode === Opcode.continuation) {
      if (this.#message === undefined) return this.#violate('PROTOCOL_ERROR', 'continuation frame with no message to continue');
    } else if (opcode === Opcode.text || opcode === Opcode.binary) {
      if (this.#message !== undefined) return this.#violate('PROTOCOL_ERROR', 'new message before the fragmented one ended');
    } else {
      return this.#violate('PROTOCOL_ERROR', `unknown opcode ${opcode}`);
    }
    const lengthBytes = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const headerLength = 2 + lengthBytes + 4;
    if (available < 2 + lengthBytes) return 0;
    let length = length7;
    if (lengthBytes === 2) {
      length = data.readUInt16BE(at + 2);
    } else if (lengthBytes === 8) {
      const high = data.readUInt32BE(at + 2);
      // Beyond 2^53 a length is not even exact as a number, and far over any limit.
      if (high >= 0x200000) return this.#violate('FRAME_TOO_LARGE', 'frame length over 2^53 - 1');
      length = high * 0x100000000 + data.readUInt32BE(at + 6);
    }
    if (opcode < 0x8) {
      const { dialect, maxFrameBytes, maxMessageBytes } = this.#limits;
      if (length > maxFrameBytes) return this.#violate('FRAME_TOO_LARGE', `frame over ${dialect}.maxFrameBytes (${maxFrameBytes})`);
      if ((this.#message?.length ?? 0) + length > maxMessageBytes) {
        return this.#violate('MESSAGE_TOO_LARGE', `message over ${dialect}.maxMessageBytes (${maxMessageBytes})`);
      }
    }
    if (available < headerLength) return 0;
    this.#opcode = opcode;
    this.#fin = fin;
    this.#payloadLength = length;
    this.#mask = data.readUInt32BE(at + headerLength - 4);
    return at + headerLength;
  }

  #frameDone(payload: Buffer): void {
    const opcode = this.#opcode;
    if (opcode === Opcode.text || opcode === Opcode.binary) {
      if (this.#fin) return this.#deliver(payload, opcode === Opcode.binary);
      this.#messageBinary = opcode === Opcode.binary;
      this.#message = new ByteAccumulator(Math.max(payload.length * 2, 256));
      this.#message.append(payload, 0, payload.length, this.#limits.maxMessageBytes);
    } else if (opcode === Opcode.continuation) {
      const message = this.#message!;
      message.append(payload, 0, payload.length, this.#limits.maxMessageBytes);
      if (!this.#fin) return;
      this.#message = undefined;
      this.#deliver(message.take(), this.#messageBinary);
    } else if (opcode === Opcode.ping) {
      this.#sink.onPing(payload);
    } else if (opcode === Opcode.pong) {
      this.#sink.onPong();
    } else {
      this.#closeFrame(payload);
    }
  }

  #deliver(data: Buffer, binary: boolean): void {
    if (!binary && !isUtf8(data)) return void this.#violate('INVALID_UTF8', 'invalid UTF-8 in a text message');
    this.#sink.onMessage(data, binary);
  }

  #closeFrame(payload: Buffer): void {
    if (payload.length === 1) return void this.#violate('PROTOCOL_ERROR', 'close frame with a 1-byte payload');
    let code: number = CloseCode.noStatus;
    let reason = '';
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      if (!isSendableCloseCode(code)) return void this.#violate('PROTOCOL_ERROR', `invalid close code ${code}`);
      const reasonBytes = payload.subarray(2);
      if (!isUtf8(reasonBytes)) return void this.#violate('INVALID_UTF8', 'invalid UTF-8 in a close reason');
      reason = reasonBytes.toString();
    }
    this.stop();
    this.#sink.onCloseFrame(code, reason);
  }

  #violate(violation: TransportViolation, reason: string): -1 {
    this.stop();
    this.#sink.onViolation(violation, reason);
    return -1;
  }
}
