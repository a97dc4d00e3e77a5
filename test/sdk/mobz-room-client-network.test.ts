import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { MobzRoomClient, type MobzRoomClientOptions } from '../../sdk/mobz/node.ts';
import { assertPath, freshId, freshSession, reached, record, recordStates } from '../support/mobz-sdk-helpers.ts';
import { startRedis } from '../support/redis-server.ts';
import { startNode, type TestNode } from '../support/switchboard-node.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { delay, waitFor } from '../support/waiting.ts';

describe('MobzRoomClient: network loss and server restarts', () => {
  const cleanups: Array<() => Promise<unknown>> = [];

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  function client(options: Partial<MobzRoomClientOptions> & Pick<MobzRoomClientOptions, 'url' | 'rid'>): MobzRoomClient {
    const created = new MobzRoomClient({
      ch: 'p2p',
      ss: freshSession('net'),
      heartbeatIntervalMs: 200,
      checkdogIntervalMs: 100,
      reconnectDelayMs: 50,
      maxReconnectDelayMs: 300,
      ...options,
    });
    cleanups.push(() => created.close());
    return created;
  }

  async function node(overrides: Parameters<typeof startNode>[0] = {}): Promise<TestNode> {
    const started = await startNode({ 'mobz.heartbeatTimeoutMs': 5000, ...overrides });
    cleanups.push(() => started.close());
    return started;
  }

  test('a link that goes silent (no pong): joined → waitingNetwork, and back once it carries data again', async () => {
    const server = await node();
    const proxy = await startTcpProxy(server.port);
    cleanups.push(() => proxy.close());
    const rid = freshId('room');
    const a = client({ url: proxy.wsUrl, rid, op: { roomCreating: true }, livenessTimeoutMs: 1000, connectTimeoutMs: 500 });
    const b = client({ url: server.wsUrl, rid });
    await a.join();
    await b.join();
    const states = recordStates(a);
    const atB = record(b, 'signal');

    proxy.blackhole();
    const started = Date.now();
    const lost = await reached(states, 'waitingNetwork');
    assert.equal(lost.reason, 'no-pong');
    assert.ok(Date.now() - started >= 900, 'not before the liveness timeout');
    a.offer('while-silent');
    await delay(700);
    assert.equal(a.state, 'waitingNetwork', 'a silent link does not count as restored');

    proxy.restore();
    await reached(states, 'joined', 1);
    assertPath(states, ['joined', 'waitingNetwork', 'reinitializing', 'joined']);
    await waitFor('the buffered offer at b', () => atB.length === 1);
    assert.equal((atB[0]![0] as { sdp: string }).sdp, 'while-silent');
  });

  test("the browser's offline/online events: joined → waitingNetwork at once, reconnect as soon as it is online", async () => {
    const server = await node();
    const network = new EventTarget();
    const rid = freshId('room');
    // A reconnect delay far beyond the test: only the `online` event can bring the client back in time.
    const a = client({ url: server.wsUrl, rid, op: { roomCreating: true }, network, reconnectDelayMs: 60_000, maxReconnectDelayMs: 60_000 });
    await a.join();
    const states = recordStates(a);

    network.dispatchEvent(new Event('offline'));
    assertPath(states, ['joined', 'waitingNetwork']);
    assert.equal(states[0]!.reason, 'offline');
    await delay(300);
    assert.equal(a.state, 'waitingNetwork');

    network.dispatchEvent(new Event('online'));
    await reached(states, 'joined', 1, 5000);
    assertPath(states, ['joined', 'waitingNetwork', 'reinitializing', 'joined']);
  });

  test('an idle socket gets KEEPALIVE acks: the keepalive event, and the client answers nothing', async () => {
    const server = await node({ 'mobz.keepaliveMs': 200 });
    const a = client({ url: server.wsUrl, rid: freshId('room'), op: { roomCreating: true }, heartbeatIntervalMs: 60_000 });
    const keepalives = record(a, 'keepalive');
    const errorAcks = record(a, 'errorAck');
    await a.join();
    await waitFor('3 keepalives', () => keepalives.length >= 3);
    const [body] = keepalives[0]!;
    assert.equal(typeof body.ts, 'number');
    assert.ok(Math.abs(body.ts - Date.now()) < 10_000, 'ts is epoch milliseconds');
    assert.equal(errorAcks.length, 0);
    assert.equal(a.state, 'joined');
  });

  test('a server restart (Redis keeps the room): joined → reinitializing → joined on the new node, signals flow again', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const overrides = { redisUrl: redis.url, 'mobz.heartbeatTimeoutMs': 15_000 };
    const first = await startNode(overrides);
    const port = first.port;
    const url = `ws://127.0.0.1:${port}`;
    const rid = freshId('room');
    const a = client({ url, rid, op: { roomCreating: true } });
    const b = client({ url, rid });
    await a.join();
    await b.join();
    const statesA = recordStates(a);
    const statesB = recordStates(b);
    const atB = record(b, 'signal');

    await first.close();
    const away = await reached(statesA, 'reinitializing');
    assert.equal(away.reason, 'server-closed:1001', 'a draining server says "going away"');
    assert.equal(statesA[0]!.from, 'joined');
    a.offer('sent-during-restart');
    await delay(500);

    const second = await startNode({ ...overrides, port });
    cleanups.push(() => second.close());
    await reached(statesA, 'joined', 1);
    await reached(statesB, 'joined', 1);
    assertPath(statesA, ['joined', 'reinitializing', 'joined']);
    assertPath(statesB, ['joined', 'reinitializing', 'joined']);
    assert.equal(a.joinAck?.pt, 'admin', 'the re-sent JOIN (roomCreating as before) re-binds the admin');
    assert.deepEqual(
      a.joinAck?.pps.map((p) => p.sessionId).sort(),
      [a.session.sessionId, b.session.sessionId].sort(),
      'the room survived the restart',
    );
    await waitFor('the offer sent during the restart', () => atB.length === 1);
    assert.equal((atB[0]![0] as { sdp: string }).sdp, 'sent-during-restart');
    const atA = record(a, 'signal');
    b.answer('after-restart');
    await waitFor('the answer at a', () => atA.length === 1);
  });
});
