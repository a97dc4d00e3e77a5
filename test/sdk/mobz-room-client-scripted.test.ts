/**
 * MobzRoomClient against a scripted server, for what a real server does not produce on
 * demand: join acks that never come, error acks 500, closes with chosen codes.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { MobzJoinError, MobzRoomClient, type JoinAckBody, type MobzRoomClientOptions, type Publisher, type SessionInfo } from '../../sdk/mobz/node.ts';
import { assertPath, freshId, freshSession, reached, record, recordStates } from '../support/mobz-sdk-helpers.ts';
import { delay, waitFor } from '../support/waiting.ts';

interface Received {
  /** Which connection (0, 1, …) it came on. */
  connection: number;
  text: string;
  action: string;
  data: Record<string, any>;
}

type Script = (message: Received, socket: WebSocket, server: ScriptedServer) => void;

/** A /mobz endpoint whose replies the test writes. */
class ScriptedServer {
  readonly received: Received[] = [];
  readonly closes: number[] = [];
  readonly #wss: WebSocketServer;
  #connections = 0;

  private constructor(wss: WebSocketServer, script: Script) {
    this.#wss = wss;
    wss.on('connection', (socket) => {
      const connection = this.#connections++;
      socket.on('message', (data) => {
        const text = data.toString();
        const { action, data: signal } = JSON.parse(text);
        const message = { connection, text, action, data: signal };
        this.received.push(message);
        script(message, socket, this);
      });
      socket.on('close', (code) => this.closes.push(code));
    });
  }

  static async start(script: Script): Promise<ScriptedServer> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/mobz' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new ScriptedServer(wss, script);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#wss.address() as AddressInfo).port}`;
  }

  get connections(): number {
    return this.#connections;
  }

  of(signal: string): Received[] {
    return this.received.filter((message) => message.data.s === signal);
  }

  async close(): Promise<void> {
    for (const socket of this.#wss.clients) socket.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

function publisher(ss: SessionInfo, role: Publisher['role'] = 'admin'): Publisher {
  return { id: ss.sessionId, userId: ss.userId, sessionId: ss.sessionId, role, video: true, audio: true, publish: true };
}

function joinAck(message: Received, pps: Publisher[] = [publisher(message.data.ss)]): string {
  const body: JoinAckBody = { pps, rid: message.data.rid, pt: 'admin', eg: 'native', es: { icfg: { is: ['stun:stun.example.test:3478'], servers: [{ urls: ['stun:stun.example.test:3478'] }] } } };
  return JSON.stringify({ c: 200, s: 'JOIN', b: body });
}

function errorAck(message: Received, c: number, msg = 'scripted'): string {
  return JSON.stringify({ c, s: message.data.s, b: { req: message.data, msg } });
}

describe('MobzRoomClient against a scripted server', () => {
  const cleanups: Array<() => Promise<unknown>> = [];

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function scripted(script: Script): Promise<ScriptedServer> {
    const server = await ScriptedServer.start(script);
    cleanups.push(() => server.close());
    return server;
  }

  function client(server: ScriptedServer, options: Partial<MobzRoomClientOptions> = {}): MobzRoomClient {
    const created = new MobzRoomClient({
      url: server.url,
      rid: freshId('room'),
      ch: 'm2m',
      ss: freshSession('scripted'),
      heartbeatIntervalMs: 100,
      checkdogIntervalMs: 50,
      joinAckTimeoutMs: 300,
      reconnectDelayMs: 20,
      maxReconnectDelayMs: 100,
      // Most scripts do not ack heartbeats; liveness has its own tests against a real node.
      livenessTimeoutMs: 60_000,
      ...options,
    });
    cleanups.push(() => created.close());
    return created;
  }

  test('checkdog: no join ack → the JOIN is re-sent, and after 3 tries the client fails', async () => {
    const server = await scripted(() => {});
    const c = client(server, { op: { roomCreating: true } });
    const states = recordStates(c);
    const started = Date.now();
    const error = await c.join().then(
      () => assert.fail('joined without an ack'),
      (caught: unknown) => caught,
    );
    const elapsed = Date.now() - started;
    assert.ok(error instanceof MobzJoinError);
    assert.equal(error.reason, 'join-timeout');
    assertPath(states, ['idle', 'initializing', 'failed']);
    const joins = server.of('JOIN');
    assert.equal(joins.length, 3, 'three tries');
    assert.ok(joins.every((join) => join.text === joins[0]!.text), 'the same JOIN each time');
    assert.deepEqual(joins[0]!.data.op, { roomCreating: true });
    assert.ok(elapsed >= 800, `three 300 ms waits, not fewer (took ${elapsed} ms)`);
    await delay(500);
    assert.equal(server.of('JOIN').length, 3, 'no JOIN after failed');
    await waitFor('the client closed its socket', () => server.closes.length === 1);
  });

  test('checkdog: the second JOIN is acked → joined', async () => {
    const server = await scripted((message, socket, self) => {
      if (message.data.s === 'JOIN' && self.of('JOIN').length === 2) socket.send(joinAck(message));
    });
    const c = client(server);
    await c.join();
    assert.equal(server.of('JOIN').length, 2);
    assert.equal(c.state, 'joined');
  });

  test('signals sent before the join go out after the JOIN ack, in order; a duplicate or stray JOIN ack changes nothing', async () => {
    const server = await scripted((message, socket) => {
      if (message.data.s !== 'JOIN') return;
      socket.send(joinAck(message));
      socket.send(joinAck(message));
      socket.send(errorAck(message, 4022));
    });
    const c = client(server, { heartbeatIntervalMs: 60_000 });
    const states = recordStates(c);
    c.offer('first', 'peer');
    c.ice('second', { userId: 'peer' });
    c.updateVideo(false, true);
    await c.join();
    await waitFor('3 signals', () => server.received.length === 4);
    assert.deepEqual(
      server.received.map((m) => [m.action, m.data.s]),
      [
        ['join', 'JOIN'],
        ['offer', 'OFFER'],
        ['iceCandidate', 'ICE'],
        ['updateVideo', 'UPDATE'],
      ],
    );
    assert.deepEqual(server.received[2]!.data, { s: 'ICE', sdp: 'second', to: { userId: 'peer' }, ch: 'm2m', ss: c.session, rid: server.received[0]!.data.rid });
    await delay(200);
    assertPath(states, ['idle', 'initializing', 'joined']);
  });

  test('heartbeat: the documented signal every interval with a unique bid; its ack updates the publisher list', async () => {
    const other = freshSession('other');
    const server = await scripted((message, socket) => {
      if (message.data.s === 'JOIN') socket.send(joinAck(message));
      if (message.data.s === 'HEARTBEAT') {
        const pps = [publisher(message.data.ss), publisher(other, 'publisher')];
        socket.send(JSON.stringify({ c: 200, s: 'HEARTBEAT', b: { pps, rid: message.data.rid, bid: message.data.bid } }));
      }
    });
    const c = client(server, { heartbeatIntervalMs: 100 });
    const lists = record(c, 'publishers');
    const ack = await c.join();
    assert.equal(c.publishers.length, 1);
    await waitFor('5 heartbeats', () => server.of('HEARTBEAT').length >= 5);
    const heartbeats = server.of('HEARTBEAT');
    for (const heartbeat of heartbeats) {
      assert.equal(heartbeat.action, 'heartbeat');
      assert.deepEqual(Object.keys(heartbeat.data).sort(), ['bid', 'ch', 'rid', 's', 'send_ack', 'ss']);
      assert.equal(heartbeat.data.send_ack, true);
      assert.equal(heartbeat.data.rid, ack.rid);
      assert.deepEqual(heartbeat.data.ss, c.session);
    }
    assert.equal(new Set(heartbeats.map((h) => h.data.bid)).size, heartbeats.length, 'every bid is unique');
    await waitFor('a heartbeat ack', () => lists.some(([, source]) => source === 'HEARTBEAT'));
    assert.deepEqual(
      c.publishers.map((p) => p.userId),
      [c.session.userId, other.userId],
    );
  });

  test('joined → failed: error ack 500 ("the client shall exit the room"); 500 to WATCH only reports', async () => {
    let failHeartbeats = false;
    const server = await scripted((message, socket) => {
      if (message.data.s === 'JOIN') socket.send(joinAck(message));
      if (message.data.s === 'WATCH') socket.send(errorAck(message, 500));
      if (message.data.s === 'HEARTBEAT' && failHeartbeats) socket.send(errorAck(message, 500));
    });
    const c = client(server);
    const states = recordStates(c);
    const errorAcks = record(c, 'errorAck');
    await c.join();
    c.watch({ userId: 'someone' });
    await waitFor('the WATCH error ack', () => errorAcks.length === 1);
    assert.equal(errorAcks[0]![0].s, 'WATCH');
    await delay(300);
    assert.equal(c.state, 'joined', 'WATCH 500 means "retry", not "exit"');

    failHeartbeats = true;
    const change = await reached(states, 'failed');
    assert.equal(change.reason, 'server-error');
    assertPath(states, ['idle', 'initializing', 'joined', 'failed']);
    assert.equal(errorAcks.at(-1)![0].c, 500);
    assert.throws(() => c.offer('x'));
  });

  test('joined → failed: the server closes with 1009 (a protocol violation that a reconnect would repeat)', async () => {
    const server = await scripted((message, socket) => {
      if (message.data.s === 'JOIN') socket.send(joinAck(message));
      if (message.data.s === 'OFFER') socket.close(1009, 'too big');
    });
    const c = client(server);
    const states = recordStates(c);
    await c.join();
    c.offer('x');
    assert.equal((await reached(states, 'failed')).reason, 'protocol-close:1009');
    await delay(200);
    assert.equal(server.connections, 1, 'no reconnect');
  });

  test('reinitializing → failed by the checkdog: after a 1012 close the same JOIN goes to a server that never answers', async () => {
    const server = await scripted((message, socket, self) => {
      if (message.data.s !== 'JOIN') return;
      if (self.of('JOIN').length === 1) {
        socket.send(joinAck(message));
        setTimeout(() => socket.close(1012, 'service restart'), 100);
      }
    });
    const c = client(server, { op: { roomCreating: true } });
    const states = recordStates(c);
    await c.join();
    const change = await reached(states, 'failed');
    assert.equal(change.reason, 'join-timeout');
    assertPath(states, ['idle', 'initializing', 'joined', 'reinitializing', 'failed']);
    assert.equal(states[2]!.reason, 'server-closed:1012');
    const joins = server.of('JOIN');
    assert.equal(joins.length, 4, 'the original JOIN and three tries');
    assert.ok(joins.every((join) => join.text === joins[0]!.text), 'every re-sent JOIN is the original one (roomCreating included)');
    assert.ok(joins[1]!.connection >= 1, 'the re-join went over a new connection');
  });

  test('close() while initializing rejects join(); nothing happens afterwards', async () => {
    const server = await scripted(() => {});
    const c = client(server);
    const states = recordStates(c);
    const outcome = c.join().then(
      () => 'joined',
      (error: unknown) => error,
    );
    await waitFor('the JOIN', () => server.of('JOIN').length === 1);
    await c.close();
    const error = await outcome;
    assert.ok(error instanceof MobzJoinError && error.reason === 'closed', String(error));
    await delay(500);
    assert.equal(server.of('JOIN').length, 1, 'the checkdog stopped');
    assertPath(states, ['idle', 'initializing']);
    await assert.rejects(c.join());
  });
});
