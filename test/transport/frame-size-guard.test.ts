import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { createLogger } from '../../src/ops/logger.ts';
import { Metrics, type DialectMetrics } from '../../src/ops/metrics.ts';
import type { Connection, WebSocketEndpoint } from '../../src/transport/connection.ts';
import { FrameSizeGuard } from '../../src/transport/frame-size-guard.ts';
import { WebSocketGateway } from '../../src/transport/websocket-gateway.ts';
import { waitFor, withTimeout } from '../support/waiting.ts';
import { WsPeer } from '../support/ws-peer.ts';

type Encoding = 7 | 16 | 64;

/**
 * One frame as a client sends it. Payload and mask key are 0xff: should the parser lose its
 * place, it reads them as a 64-bit length of ~2^64 and reports a violation.
 */
function frame(length: number, options: { masked?: boolean; encoding?: Encoding; withPayload?: boolean } = {}): Buffer {
  const { masked = true, withPayload = true } = options;
  const encoding = options.encoding ?? (length < 126 ? 7 : length < 65536 ? 16 : 64);
  const extended = encoding === 16 ? 2 : encoding === 64 ? 8 : 0;
  const header = Buffer.alloc(2 + extended + (masked ? 4 : 0), 0xff);
  header[0] = 0x82;
  header[1] = (masked ? 0x80 : 0) | (encoding === 16 ? 126 : encoding === 64 ? 127 : length);
  if (encoding === 16) header.writeUInt16BE(length, 2);
  if (encoding === 64) header.writeBigUInt64BE(BigInt(length), 2);
  return withPayload ? Buffer.concat([header, Buffer.alloc(length, 0xff)]) : header;
}

/** Feeds `bytes` in chunks of the given sizes (cycled); returns the first report and where it came. */
function feedInChunks(guard: FrameSizeGuard, bytes: Buffer, sizes: readonly number[]): { length: number; fedUpTo: number } {
  let offset = 0;
  for (let k = 0; offset < bytes.length; k++) {
    const end = Math.min(bytes.length, offset + sizes[k % sizes.length]!);
    const length = guard.feed(bytes.subarray(offset, end));
    offset = end;
    if (length !== -1) return { length, fedUpTo: offset };
  }
  return { length: -1, fedUpTo: offset };
}

const SPLITS: ReadonlyArray<readonly number[]> = [[1], [2], [3, 5, 7], [13, 1, 64, 2], [4096], [1 << 20]];

describe('FrameSizeGuard', () => {
  // Every encoding, masked and not, zero-length, and both sides of each encoding's range.
  const accepted = Buffer.concat([
    frame(0),
    frame(5),
    frame(0, { masked: false }),
    frame(125),
    frame(126),
    frame(40, { masked: false, encoding: 16 }),
    frame(1000),
    frame(65535),
    frame(65536),
    frame(3, { encoding: 64 }),
    frame(69999, { masked: false }),
    frame(70000),
  ]);

  it('accepts a stream of frames at or under the limit however it is split', () => {
    for (const sizes of SPLITS) {
      assert.deepEqual(feedInChunks(new FrameSizeGuard(70000), accepted, sizes), { length: -1, fedUpTo: accepted.length }, `splits ${sizes}`);
    }
  });

  it('reports limit + 1 as soon as the length field is complete, before the payload', () => {
    for (const encoding of [7, 16, 64] as const) {
      const limit = encoding === 7 ? 100 : encoding === 16 ? 1024 : 70000;
      const lengthEnd = encoding === 7 ? 2 : encoding === 16 ? 4 : 10;
      const stream = Buffer.concat([frame(limit, { encoding }), frame(limit + 1, { encoding })]);
      const exact = feedInChunks(new FrameSizeGuard(limit), frame(limit, { encoding }), [1]);
      assert.equal(exact.length, -1, `${encoding}-bit: exactly ${limit} is accepted`);
      const byteByByte = feedInChunks(new FrameSizeGuard(limit), stream, [1]);
      assert.deepEqual(byteByByte, { length: limit + 1, fedUpTo: frame(limit, { encoding }).length + lengthEnd }, `${encoding}-bit, byte by byte`);
      for (const sizes of SPLITS) {
        assert.equal(feedInChunks(new FrameSizeGuard(limit), stream, sizes).length, limit + 1, `${encoding}-bit, splits ${sizes}`);
      }
    }
  });

  it('finds the one oversized frame among many in a single chunk', () => {
    const guard = new FrameSizeGuard(70000);
    assert.equal(guard.feed(Buffer.concat([accepted, accepted, frame(70001), accepted])), 70001);
  });

  it('reads 64-bit lengths beyond 32 bits', () => {
    const length = 2 ** 40 + 7;
    assert.equal(new FrameSizeGuard(2 ** 32).feed(frame(length, { withPayload: false })), length);
    const guard = new FrameSizeGuard(2 ** 41);
    assert.equal(guard.feed(frame(length, { withPayload: false })), -1, 'a large frame under a large limit is accepted');
    assert.equal(guard.feed(Buffer.alloc(64 * 1024, 0xff)), -1, 'its payload is skipped, not parsed as headers');
  });

  it('reports only the first violation and then ignores the stream', () => {
    const guard = new FrameSizeGuard(10);
    assert.equal(guard.feed(frame(11)), 11);
    assert.equal(guard.feed(Buffer.concat([frame(5000), frame(0)])), -1);
  });
});

const FRAME_LIMIT = 1024;
const MESSAGE_LIMIT = 4096;

/** What the test endpoint's handlers saw, per connection. */
interface Seen {
  connection: Connection;
  messages: Buffer[];
  closedWith: number | undefined;
}

describe('maxFrameBytes over a real socket', () => {
  let server: Server;
  let gateway: WebSocketGateway;
  let metrics: DialectMetrics;
  let url: string;
  const seen: Seen[] = [];

  const endpoint: WebSocketEndpoint = {
    path: '/frames',
    dialect: 'frame-test',
    maxMessageBytes: MESSAGE_LIMIT,
    maxFrameBytes: FRAME_LIMIT,
    pingIntervalMs: 60_000,
    pongTimeoutMs: 120_000,
    accept(connection) {
      const entry: Seen = { connection, messages: [], closedWith: undefined };
      seen.push(entry);
      return {
        onText: (data) => void entry.messages.push(data),
        onBinary: (data) => void entry.messages.push(data),
        onClose: (code) => void (entry.closedWith = code),
      };
    },
  };

  before(async () => {
    const allMetrics = new Metrics();
    metrics = allMetrics.dialect('frame-test');
    gateway = new WebSocketGateway(
      { allowedOrigins: [], maxConnections: 100, maxConnectionsPerIp: 100, maxBufferedBytes: 1 << 20 },
      allMetrics,
      createLogger('silent'),
    );
    gateway.add(endpoint);
    server = createServer((_request, response) => response.writeHead(404).end());
    server.on('upgrade', gateway.handleUpgrade);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/frames`;
  });

  after(async () => {
    await gateway.closeAll(1000);
    await new Promise((resolve) => server.close(resolve));
  });

  async function open(): Promise<{ peer: WsPeer; entry: Seen }> {
    const before = seen.length;
    const peer = await WsPeer.open(url);
    await waitFor('the endpoint to accept', () => seen.length > before);
    return { peer, entry: seen[before]! };
  }

  function sendFragmented(socket: WebSocket, parts: readonly Buffer[]): void {
    parts.forEach((part, i) => socket.send(part, { binary: true, fin: i === parts.length - 1 }));
  }

  const filled = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff));

  it('delivers a message of three frames of exactly maxFrameBytes intact', async () => {
    const { peer, entry } = await open();
    const parts = [filled(FRAME_LIMIT, 1), filled(FRAME_LIMIT, 2), filled(FRAME_LIMIT, 3)];
    sendFragmented(peer.socket, parts);
    await waitFor('the message', () => entry.messages.length > 0);
    assert.deepEqual(entry.messages, [Buffer.concat(parts)]);
    assert.equal(entry.connection.open, true);
    peer.close();
  });

  it('closes a socket that sends a frame of maxFrameBytes + 1 with 1009, and the handler never sees the frame', async () => {
    const { peer, entry } = await open();
    const errorsBefore = metrics.errors.get('FRAME_TOO_LARGE') ?? 0;
    peer.socket.send(filled(FRAME_LIMIT + 1, 4), { binary: true });
    const closed = await withTimeout(peer.closed, 'close after an oversized frame', 5000);
    assert.deepEqual(closed, { code: 1009, reason: `frame over maxFrameBytes (${FRAME_LIMIT})` });
    await waitFor('the handler to hear of the close', () => entry.closedWith !== undefined);
    assert.deepEqual(entry.messages, []);
    assert.equal(metrics.errors.get('FRAME_TOO_LARGE'), errorsBefore + 1);
  });

  it('catches an oversized frame that arrives in the same packet as the upgrade request', async () => {
    const before = seen.length;
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    const ended = new Promise((resolve) => socket.on('close', resolve));
    const request =
      'GET /frames HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    socket.end(Buffer.concat([Buffer.from(request), frame(FRAME_LIMIT + 1)]));
    await withTimeout(ended, 'the server to close the raw socket', 5000);
    const reply = Buffer.concat(received);
    const body = reply.indexOf('\r\n\r\n') + 4;
    assert.match(reply.subarray(0, body).toString(), /^HTTP\/1\.1 101 /);
    assert.equal(reply[body], 0x88, 'a close frame follows the upgrade response');
    assert.equal(reply.readUInt16BE(body + 2), 1009);
    assert.equal(seen.length, before + 1);
    assert.deepEqual(seen[before]!.messages, []);
  });

  it('closes with 1009 on a message over maxMessageBytes whose frames are each within maxFrameBytes', async () => {
    const { peer, entry } = await open();
    const frameErrors = metrics.errors.get('FRAME_TOO_LARGE');
    sendFragmented(peer.socket, [1, 2, 3, 4, 5].map((seed) => filled(1000, seed)));
    const closed = await withTimeout(peer.closed, 'close after an oversized message', 5000);
    assert.equal(closed.code, 1009);
    await waitFor('the handler to hear of the close', () => entry.closedWith !== undefined);
    assert.deepEqual(entry.messages, []);
    assert.equal(metrics.errors.get('FRAME_TOO_LARGE'), frameErrors, 'ws enforced this, not the frame guard');
  });

  it('keeps a well-behaved connection working while another on the endpoint is closed', async () => {
    const good = await open();
    const bad = await open();
    bad.peer.socket.send(filled(FRAME_LIMIT * 8, 5), { binary: true });
    assert.equal((await withTimeout(bad.peer.closed, 'the bad socket to close', 5000)).code, 1009);
    const parts = [filled(FRAME_LIMIT, 6), filled(10, 7)];
    sendFragmented(good.peer.socket, parts);
    good.peer.socket.send('text after', { fin: true });
    await waitFor('both messages on the good socket', () => good.entry.messages.length >= 2);
    assert.deepEqual(good.entry.messages, [Buffer.concat(parts), Buffer.from('text after')]);
    assert.equal(good.entry.closedWith, undefined);
    assert.equal(good.entry.connection.open, true);
    good.peer.close();
  });
});
