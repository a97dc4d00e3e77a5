import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { WebSocketFrameReader, type FrameLimits, type FrameSink } from '../../src/transport/websocket-frame-reader.ts';
import { encodeFrame, Opcode, unmask, type TransportViolation } from '../../src/transport/websocket-frames.ts';

type Event =
  | { kind: 'message'; binary: boolean; hex: string }
  | { kind: 'ping'; hex: string }
  | { kind: 'pong' }
  | { kind: 'close'; code: number; reason: string }
  | { kind: 'violation'; violation: TransportViolation };

class RecordingSink implements FrameSink {
  readonly events: Event[] = [];
  onMessage(data: Buffer, binary: boolean): void {
    this.events.push({ kind: 'message', binary, hex: data.toString('hex') });
  }
  onPing(payload: Buffer): void {
    this.events.push({ kind: 'ping', hex: payload.toString('hex') });
  }
  onPong(): void {
    this.events.push({ kind: 'pong' });
  }
  onCloseFrame(code: number, reason: string): void {
    this.events.push({ kind: 'close', code, reason });
  }
  onViolation(violation: TransportViolation): void {
    this.events.push({ kind: 'violation', violation });
  }
}

interface FrameOptions {
  fin?: boolean;
  masked?: boolean;
  rsv?: number;
  /** Force the 16- or 64-bit length encoding for a short payload. */
  encoding?: 16 | 64;
  /** Announce this length rather than the payload's. */
  announced?: number;
}

/** A frame as a client sends it (RFC 6455 §5.2), with a random mask key. */
function clientFrame(opcode: number, payload: Uint8Array, options: FrameOptions = {}): Buffer {
  const { fin = true, masked = true, rsv = 0 } = options;
  const length = options.announced ?? payload.length;
  const encoding = options.encoding ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  const extended = encoding === 16 ? 2 : encoding === 64 ? 8 : 0;
  const header = Buffer.alloc(2 + extended);
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  header[1] = (masked ? 0x80 : 0) | (encoding === 16 ? 126 : encoding === 64 ? 127 : length);
  if (encoding === 16) header.writeUInt16BE(length, 2);
  if (encoding === 64) header.writeBigUInt64BE(BigInt(length), 2);
  if (!masked) return Buffer.concat([header, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload).map((byte, i) => byte ^ key[i & 3]!);
  return Buffer.concat([header, key, body]);
}

const closeBody = (code: number, reason: string | Buffer = '') => {
  const reasonBytes = typeof reason === 'string' ? Buffer.from(reason) : reason;
  const body = Buffer.alloc(2 + reasonBytes.length);
  body.writeUInt16BE(code, 0);
  reasonBytes.copy(body, 2);
  return body;
};

const LIMITS: FrameLimits = { dialect: 'test', maxMessageBytes: 150_000, maxFrameBytes: 100_000 };

/** Feeds `stream` cut at the given chunk sizes (cycled) and returns what the sink saw. */
function read(stream: Buffer, sizes: readonly number[] = [stream.length || 1], limits = LIMITS): Event[] {
  const sink = new RecordingSink();
  const reader = new WebSocketFrameReader(limits, sink);
  for (let at = 0, k = 0; at < stream.length; k++) {
    const end = Math.min(stream.length, at + sizes[k % sizes.length]!);
    // A copy, as a socket read would be: the reader unmasks in place.
    reader.feed(Buffer.from(stream.subarray(at, end)));
    at = end;
  }
  return sink.events;
}

/** A deterministic generator, so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

const LENGTHS = [0, 1, 7, 125, 126, 127, 1000, 1024, 65535, 65536, 70000];
const SPLITS: ReadonlyArray<readonly number[]> = [[1], [2, 3], [7, 1, 13], [1460], [4096, 10], [65536]];

describe('WebSocketFrameReader', () => {
  it('reads random streams of fragmented messages and interleaved control frames, however they are cut', () => {
    for (let seed = 1; seed <= 120; seed++) {
      const rand = random(seed);
      const frames: Buffer[] = [];
      const expected: Event[] = [];
      const items = 1 + Math.floor(rand() * 6);
      for (let n = 0; n < items; n++) {
        const binary = rand() < 0.5;
        const length = LENGTHS[Math.floor(rand() * LENGTHS.length)]!;
        const data = binary ? randomBytes(length) : Buffer.from('aé€😀'.repeat(Math.ceil(length / 10)).slice(0, length));
        expected.push({ kind: 'message', binary, hex: data.toString('hex') });
        // Cut anywhere, a multi-byte character too: UTF-8 is checked on the whole message.
        const cuts = [0, ...Array.from({ length: Math.floor(rand() * 3) }, () => Math.floor(rand() * data.length)).sort((a, b) => a - b), data.length];
        for (let f = 0; f + 1 < cuts.length; f++) {
          const opcode = f === 0 ? (binary ? Opcode.binary : Opcode.text) : Opcode.continuation;
          frames.push(clientFrame(opcode, data.subarray(cuts[f], cuts[f + 1]), { fin: f + 2 === cuts.length }));
          if (rand() < 0.3) {
            const ping = randomBytes(Math.floor(rand() * 126));
            frames.push(clientFrame(Opcode.ping, ping));
            // Before the message it interrupts; after the message's last frame, after it.
            const event: Event = { kind: 'ping', hex: ping.toString('hex') };
            if (f + 2 === cuts.length) expected.push(event);
            else expected.splice(expected.length - 1, 0, event);
          }
        }
      }
      frames.push(clientFrame(Opcode.close, closeBody(4000, 'bye')));
      expected.push({ kind: 'close', code: 4000, reason: 'bye' });
      const stream = Buffer.concat(frames);
      for (const sizes of SPLITS) assert.deepEqual(read(stream, sizes), expected, `seed ${seed}, reads of ${sizes.join(',')} bytes`);
    }
  });

  it('reads every length encoding, including short lengths in the long encodings', () => {
    const payload = Buffer.from('hello');
    for (const encoding of [16, 64] as const) {
      assert.deepEqual(read(clientFrame(Opcode.text, payload, { encoding })), [{ kind: 'message', binary: false, hex: payload.toString('hex') }]);
    }
  });

  it('reports a pong, and a close without a code as 1005, and reads nothing after a close', () => {
    const stream = Buffer.concat([clientFrame(Opcode.pong, Buffer.from('x')), clientFrame(Opcode.close, Buffer.alloc(0)), clientFrame(Opcode.text, Buffer.from('late'))]);
    assert.deepEqual(read(stream), [{ kind: 'pong' }, { kind: 'close', code: 1005, reason: '' }]);
  });

  it('accepts the close codes a peer may send', () => {
    for (const code of [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999]) {
      assert.deepEqual(read(clientFrame(Opcode.close, closeBody(code))), [{ kind: 'close', code, reason: '' }], `code ${code}`);
    }
  });

  const text = (s: string, options?: FrameOptions) => clientFrame(Opcode.text, Buffer.from(s), options);
  const violations: Array<[string, Buffer, TransportViolation]> = [
    ['an RSV bit without an extension', text('a', { rsv: 4 }), 'PROTOCOL_ERROR'],
    ['an unmasked frame', text('a', { masked: false }), 'PROTOCOL_ERROR'],
    ['a reserved data opcode', clientFrame(0x3, Buffer.from('a')), 'PROTOCOL_ERROR'],
    ['a reserved control opcode', clientFrame(0xb, Buffer.from('a')), 'PROTOCOL_ERROR'],
    ['a fragmented ping', clientFrame(Opcode.ping, Buffer.alloc(1), { fin: false }), 'PROTOCOL_ERROR'],
    ['a ping of 126 bytes', clientFrame(Opcode.ping, Buffer.alloc(126)), 'PROTOCOL_ERROR'],
    ['a continuation with nothing to continue', clientFrame(Opcode.continuation, Buffer.from('a')), 'PROTOCOL_ERROR'],
    ['a new message inside a fragmented one', Buffer.concat([text('a', { fin: false }), text('b')]), 'PROTOCOL_ERROR'],
    ['invalid UTF-8 in a text message', clientFrame(Opcode.text, Buffer.from([0x61, 0xc3, 0x28])), 'INVALID_UTF8'],
    ['a character left incomplete at the last fragment', Buffer.concat([text('a', { fin: false }), clientFrame(Opcode.continuation, Buffer.from([0xe2, 0x82]))]), 'INVALID_UTF8'],
    ['a close frame of one byte', clientFrame(Opcode.close, Buffer.alloc(1)), 'PROTOCOL_ERROR'],
    ['close code 999', clientFrame(Opcode.close, closeBody(999)), 'PROTOCOL_ERROR'],
    ['close code 1004', clientFrame(Opcode.close, closeBody(1004)), 'PROTOCOL_ERROR'],
    ['close code 1005', clientFrame(Opcode.close, closeBody(1005)), 'PROTOCOL_ERROR'],
    ['close code 2999', clientFrame(Opcode.close, closeBody(2999)), 'PROTOCOL_ERROR'],
    ['close code 5000', clientFrame(Opcode.close, closeBody(5000)), 'PROTOCOL_ERROR'],
    ['invalid UTF-8 in a close reason', clientFrame(Opcode.close, closeBody(1000, Buffer.from([0xff]))), 'INVALID_UTF8'],
    ['a frame over maxFrameBytes', clientFrame(Opcode.binary, Buffer.alloc(LIMITS.maxFrameBytes + 1)), 'FRAME_TOO_LARGE'],
    ['a 64-bit length of 2^53', clientFrame(Opcode.binary, Buffer.alloc(0), { announced: 2 ** 53 }), 'FRAME_TOO_LARGE'],
    [
      'a message over maxMessageBytes in frames within maxFrameBytes',
      Buffer.concat([clientFrame(Opcode.binary, Buffer.alloc(100_000), { fin: false }), clientFrame(Opcode.continuation, Buffer.alloc(50_001))]),
      'MESSAGE_TOO_LARGE',
    ],
  ];

  for (const [what, bad, violation] of violations) {
    it(`reports ${what} as ${violation}, after the messages before it and with nothing after it`, () => {
      const before = text('before');
      const stream = Buffer.concat([before, bad, text('after')]);
      const expected: Event[] = [{ kind: 'message', binary: false, hex: Buffer.from('before').toString('hex') }, { kind: 'violation', violation }];
      for (const sizes of SPLITS) assert.deepEqual(read(stream, sizes), expected, `reads of ${sizes.join(',')} bytes`);
    });
  }

  it('reports a frame over a limit as soon as its header is complete, before any payload', () => {
    const header = clientFrame(Opcode.binary, Buffer.alloc(0), { announced: LIMITS.maxFrameBytes + 1 });
    assert.deepEqual(read(header, [1]), [{ kind: 'violation', violation: 'FRAME_TOO_LARGE' }]);
    // Before the mask key, too: the length alone decides.
    assert.deepEqual(read(header.subarray(0, 10), [1]), [{ kind: 'violation', violation: 'FRAME_TOO_LARGE' }]);
  });

  it('accepts a frame of exactly maxFrameBytes and a message of exactly maxMessageBytes', () => {
    const limits: FrameLimits = { dialect: 'test', maxFrameBytes: 1000, maxMessageBytes: 2000 };
    const parts = [randomBytes(1000), randomBytes(1000)];
    const stream = Buffer.concat([clientFrame(Opcode.binary, parts[0]!, { fin: false }), clientFrame(Opcode.continuation, parts[1]!)]);
    assert.deepEqual(read(stream, [3], limits), [{ kind: 'message', binary: true, hex: Buffer.concat(parts).toString('hex') }]);
  });

  it('reads nothing more after stop()', () => {
    const sink = new RecordingSink();
    const reader = new WebSocketFrameReader(LIMITS, sink);
    const stream = Buffer.concat([text('one'), text('two')]);
    reader.feed(stream.subarray(0, 5));
    reader.stop();
    reader.feed(stream.subarray(5));
    assert.deepEqual(sink.events, []);
  });
});

describe('unmask', () => {
  it('matches a byte-by-byte XOR at every alignment, mask phase and length', () => {
    const mask = 0xa1b2c3d4;
    const key = [0xa1, 0xb2, 0xc3, 0xd4];
    for (const offset of [0, 1, 2, 3, 5]) {
      for (const phase of [0, 1, 2, 3]) {
        for (const length of [0, 1, 3, 4, 15, 16, 17, 33, 1024, 1027]) {
          const original = randomBytes(offset + length + 3);
          const data = Buffer.from(original);
          unmask(data, offset, offset + length, mask, phase);
          const expected = Buffer.from(original);
          for (let i = 0; i < length; i++) expected[offset + i]! ^= key[(phase + i) & 3]!;
          assert.deepEqual(data, expected, `offset ${offset}, phase ${phase}, length ${length}`);
        }
      }
    }
  });
});

describe('encodeFrame', () => {
  it('writes a final unmasked header with the shortest length encoding, and the payload', () => {
    for (const length of [0, 125, 126, 65535, 65536, 70000]) {
      for (const payload of [randomBytes(length), 'é'.repeat(length >> 1) + 'x'.repeat(length & 1)]) {
        const bytes = Buffer.byteLength(payload);
        const frame = Buffer.concat(encodeFrame(Opcode.text, payload));
        assert.equal(frame[0], 0x81);
        const length7 = frame[1]!;
        assert.equal(length7 & 0x80, 0, 'server frames are not masked');
        const [announced, headerLength] =
          length7 === 127 ? [Number(frame.readBigUInt64BE(2)), 10] : length7 === 126 ? [frame.readUInt16BE(2), 4] : [length7, 2];
        assert.equal(announced, bytes);
        assert.equal(headerLength, bytes < 126 ? 2 : bytes < 65536 ? 4 : 10);
        assert.deepEqual(frame.subarray(headerLength), Buffer.from(payload as string));
      }
    }
  });

  it('keeps a large byte payload apart from its header instead of copying it', () => {
    const payload = randomBytes(100_000);
    const chunks = encodeFrame(Opcode.binary, payload);
    assert.equal(chunks.length, 2);
    assert.equal(chunks[1], payload);
  });
});
