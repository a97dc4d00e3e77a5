import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { createLogger } from '../../src/ops/logger.ts';
import { Metrics, type DialectMetrics } from '../../src/ops/metrics.ts';
import type { Connection, WebSocketEndpoint } from '../../src/transport/connection.ts';
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

const FRAME_LIMIT = 1024;
const MESSAGE_LIMIT = 4096;

/** What the test endpoint's handlers saw, per connection. */
interface Seen {
  connection: Connection;
  messages: Buffer[];
  closedWith: number | undefined;
}

/** A gateway with `endpoints` on an HTTP server on a free loopback port. */
async function startGateway(...endpoints: WebSocketEndpoint[]): Promise<{ server: Server; metrics: Metrics; port: number; stop(): Promise<void> }> {
  const metrics = new Metrics();
  const gateway = new WebSocketGateway(
    { allowedOrigins: [], maxConnections: 100, maxConnectionsPerIp: 100, maxBufferedBytes: 1 << 20 },
    metrics,
    createLogger('silent'),
  );
  for (const endpoint of endpoints) gateway.add(endpoint);
  const server = createServer((_request, response) => response.writeHead(404).end());
  server.on('upgrade', gateway.handleUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    metrics,
    port: (server.address() as AddressInfo).port,
    async stop() {
      await gateway.closeAll(1000);
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('maxFrameBytes over a real socket', () => {
  let server: Server;
  let stop: () => Promise<void>;
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
    const started = await startGateway(endpoint);
    ({ server, stop } = started);
    metrics = started.metrics.dialect('frame-test');
    url = `ws://127.0.0.1:${started.port}/frames`;
  });

  after(() => stop());

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
    assert.deepEqual(closed, { code: 1009, reason: `frame over frame-test.maxFrameBytes (${FRAME_LIMIT})` });
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
    const messageErrors = metrics.errors.get('MESSAGE_TOO_LARGE') ?? 0;
    sendFragmented(peer.socket, [1, 2, 3, 4, 5].map((seed) => filled(1000, seed)));
    const closed = await withTimeout(peer.closed, 'close after an oversized message', 5000);
    assert.equal(closed.code, 1009);
    await waitFor('the handler to hear of the close', () => entry.closedWith !== undefined);
    assert.deepEqual(entry.messages, []);
    assert.equal(metrics.errors.get('FRAME_TOO_LARGE'), frameErrors, 'counted as a message, not a frame, over its limit');
    assert.equal(metrics.errors.get('MESSAGE_TOO_LARGE'), messageErrors + 1);
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

/** A raw TCP client: writes `bytes`, returns everything the server sent until it closed. */
async function rawExchange(port: number, bytes: Buffer | string): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (chunk) => received.push(chunk));
  socket.on('error', () => {});
  const ended = new Promise((resolve) => socket.on('close', resolve));
  socket.write(bytes);
  await withTimeout(ended, 'the server to close the raw socket', 5000);
  return Buffer.concat(received);
}

const upgradeRequest = (path: string, headers: Record<string, string> = {}, method = 'GET') => {
  const all: Record<string, string> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all).filter(([, value]) => value !== '').map(([name, value]) => `${name}: ${value}\r\n`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('')}\r\n`;
};

/** A masked client frame (the mask key is zero, so the payload reads as it is). */
const maskedFrame = (first: number, payload: Buffer) => Buffer.concat([Buffer.from([first, 0x80 | payload.length, 0, 0, 0, 0]), payload]);

describe('the WebSocket protocol over a real socket', () => {
  let started: Awaited<ReturnType<typeof startGateway>>;
  const closes: number[] = [];
  let lastConnection: Connection | undefined;

  // Echoes each message back as it came; `close:<code>` makes the server close.
  const echo: WebSocketEndpoint = {
    path: '/echo',
    dialect: 'echo-test',
    maxMessageBytes: 1 << 20,
    pingIntervalMs: 60_000,
    pongTimeoutMs: 120_000,
    accept(connection) {
      lastConnection = connection;
      return {
        onText(data) {
          const text = data.toString();
          if (text.startsWith('close:')) connection.close(Number(text.slice(6)), 'asked to');
          else connection.send(data);
        },
        onBinary: (data) => connection.sendBinary(data),
        onClose: (code) => void closes.push(code),
      };
    },
  };

  before(async () => {
    started = await startGateway(echo);
  });
  after(() => started.stop());

  const url = () => `ws://127.0.0.1:${started.port}/echo`;

  it('answers the RFC 6455 sample key with its sample accept value', async () => {
    const closeFrame = maskedFrame(0x88, Buffer.from([0x03, 0xe8]));
    const reply = (await rawExchange(started.port, Buffer.concat([Buffer.from(upgradeRequest('/echo')), closeFrame]))).toString('latin1');
    assert.match(reply, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(reply, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
  });

  for (const [what, request, status, header] of [
    ['a missing key', upgradeRequest('/echo', { 'Sec-WebSocket-Key': '' }), 400, undefined],
    ['a malformed key', upgradeRequest('/echo', { 'Sec-WebSocket-Key': 'short' }), 400, undefined],
    ['an unknown version', upgradeRequest('/echo', { 'Sec-WebSocket-Version': '12' }), 400, 'Sec-WebSocket-Version: 13, 8'],
    ['a POST', upgradeRequest('/echo', {}, 'POST'), 405, undefined],
    ['an invalid subprotocol list', upgradeRequest('/echo', { 'Sec-WebSocket-Protocol': 'a, b c' }), 400, undefined],
  ] as const) {
    it(`refuses an upgrade with ${what} with HTTP ${status}`, async () => {
      const reply = (await rawExchange(started.port, request)).toString('latin1');
      assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `));
      if (header) assert.ok(reply.includes(`\r\n${header}\r\n`), reply);
      assert.ok((started.metrics.dialect('echo-test').rejected.get('handshake') ?? 0) > 0);
    });
  }

  it('chooses the first subprotocol a client offers', async () => {
    const socket = new WebSocket(url(), ['chat.v2', 'chat.v1']);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    assert.equal(socket.protocol, 'chat.v2');
    socket.close();
  });

  it('echoes text and binary messages of every length encoding intact, in order, both ways', async () => {
    const peer = await WsPeer.open(url());
    // Byte lengths at each side of the 7-, 16- and 64-bit encodings, in 2-byte characters.
    const texts = [0, 1, 125, 126, 65535, 65536, 300_000].map((length) => 'é'.repeat(length >> 1) + 'x'.repeat(length & 1));
    for (const text of texts) peer.send(text);
    for (const text of texts) assert.equal(await peer.nextText(), text);
    const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i & 0xff));
    const received = new Promise<Buffer>((resolve) => peer.socket.once('message', (data: Buffer) => resolve(data)));
    peer.socket.send(binary);
    assert.deepEqual(await received, binary);
    peer.close();
  });

  it('answers a ping with a pong carrying the same payload', async () => {
    const peer = await WsPeer.open(url());
    const pong = new Promise<Buffer>((resolve) => peer.socket.once('pong', resolve));
    peer.socket.ping(Buffer.from('are you there'));
    assert.equal((await withTimeout(pong, 'the pong', 3000)).toString(), 'are you there');
    peer.close();
  });

  it("echoes a client's close code, and the handler hears that code", async () => {
    const peer = await WsPeer.open(url());
    const count = closes.length;
    peer.socket.close(4000, 'bye');
    assert.deepEqual(await withTimeout(peer.closed, 'the close', 3000), { code: 4000, reason: '' });
    await waitFor('the handler to hear of the close', () => closes.length > count);
    assert.equal(closes.at(-1), 4000);
  });

  it('completes a close the server starts, and the socket is then gone', async () => {
    const peer = await WsPeer.open(url());
    peer.send('close:4321');
    assert.deepEqual(await withTimeout(peer.closed, 'the close', 3000), { code: 4321, reason: 'asked to' });
    assert.equal(lastConnection!.open, false);
  });

  it('reports an abrupt end without a close frame as 1006', async () => {
    const peer = await WsPeer.open(url());
    const count = closes.length;
    peer.terminate();
    await waitFor('the handler to hear of the close', () => closes.length > count);
    assert.equal(closes.at(-1), 1006);
  });

  for (const [what, frame, code, label] of [
    ['an unmasked frame', Buffer.from([0x81, 0x01, 0x61]), 1002, 'PROTOCOL_ERROR'],
    ['invalid UTF-8', maskedFrame(0x81, Buffer.from([0xc3, 0x28])), 1007, 'INVALID_UTF8'],
    ['a reserved opcode', maskedFrame(0x83, Buffer.from('a')), 1002, 'PROTOCOL_ERROR'],
  ] as const) {
    it(`closes on ${what} with ${code}, counted as ${label}`, async () => {
      const errors = started.metrics.dialect('echo-test').errors;
      const before = errors.get(label) ?? 0;
      const reply = await rawExchange(started.port, Buffer.concat([Buffer.from(upgradeRequest('/echo')), frame]));
      const body = reply.indexOf('\r\n\r\n') + 4;
      assert.equal(reply[body], 0x88, 'a close frame follows the upgrade response');
      assert.equal(reply.readUInt16BE(body + 2), code);
      assert.equal(errors.get(label), before + 1);
    });
  }

  it('takes frames that arrive in the same read as the upgrade request, and a message cut into 1-byte reads', async () => {
    const socket = connect(started.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    socket.write(Buffer.concat([Buffer.from(upgradeRequest('/echo')), maskedFrame(0x81, Buffer.from('first'))]));
    const second = maskedFrame(0x81, Buffer.from('second'));
    for (const byte of second) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const expected = Buffer.from([0x81, 5, ...Buffer.from('first'), 0x81, 6, ...Buffer.from('second')]);
    await waitFor('both echoes', () => Buffer.concat(received).includes(expected));
    socket.destroy();
  });
});
