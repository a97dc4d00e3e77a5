import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  MobzJoinError,
  MobzRoomClient,
  MobzStateError,
  TRANSITIONS,
  type Channel,
  type ForwardedSignal,
  type MobzRoomClientOptions,
  type SessionInfo,
} from '../../sdk/mobz/node.ts';
import { assertPath, freshId, freshSession, nextEvent, reached, record, recordStates } from '../support/mobz-sdk-helpers.ts';
import { startNode, type TestNode } from '../support/switchboard-node.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { delay, waitFor } from '../support/waiting.ts';

/** The server forgets a member 2 s after its last JOIN/HEARTBEAT: long enough for a reconnect, short enough to test expiry. */
const HEARTBEAT_TIMEOUT_MS = 2000;

/** Every edge any client of this file went through: the last test checks the whole diagram was covered. */
const edges = new Set<string>();

describe('MobzRoomClient against a real node: the state machine', () => {
  let node: TestNode;
  const clients: MobzRoomClient[] = [];
  const proxies: TcpProxy[] = [];

  function client(options: Partial<MobzRoomClientOptions> & { rid: string; ch: Channel; ss?: SessionInfo }): MobzRoomClient {
    const created = new MobzRoomClient({
      url: node.wsUrl,
      ss: freshSession('c'),
      heartbeatIntervalMs: 300,
      checkdogIntervalMs: 100,
      joinAckTimeoutMs: 3000,
      reconnectDelayMs: 50,
      maxReconnectDelayMs: 300,
      connectTimeoutMs: 2000,
      ...options,
    });
    created.on('state', ({ from, to }) => edges.add(`${from}→${to}`));
    clients.push(created);
    return created;
  }

  /** A creator and a second member of a fresh room, both joined. */
  async function room(ch: Channel, second: Partial<MobzRoomClientOptions> = {}): Promise<[MobzRoomClient, MobzRoomClient]> {
    const rid = freshId('room');
    const admin = client({ rid, ch, op: { roomCreating: true } });
    await admin.join();
    const member = client({ rid, ch, ...second });
    await member.join();
    return [admin, member];
  }

  before(async () => {
    node = await startNode({ 'mobz.heartbeatTimeoutMs': HEARTBEAT_TIMEOUT_MS });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(proxies.map((p) => p.close()));
    await node.close();
  });

  test('idle → initializing → joined: the JOIN ack, heartbeat acks and the publisher list', async () => {
    const rid = freshId('room');
    const admin = client({ rid, ch: 'p2p', op: { roomCreating: true } });
    assert.equal(admin.state, 'idle');
    const states = recordStates(admin);
    const publishers = record(admin, 'publishers');
    const joinedEvent = nextEvent(admin, 'joined');
    const ack = await admin.join();

    assertPath(states, ['idle', 'initializing', 'joined']);
    assert.deepEqual(states.map((s) => s.reason), ['join', 'join-acked']);
    assert.deepEqual((await joinedEvent)[0], ack);
    assert.equal(ack.rid, rid);
    assert.equal(ack.pt, 'admin');
    assert.equal(ack.eg, 'native');
    assert.ok(Array.isArray(ack.es.icfg?.is), 'es.icfg.is lists ICE URLs');
    assert.ok(Array.isArray(ack.es.icfg?.servers), 'es.icfg.servers lists RTCIceServer objects');
    for (const server of ack.es.icfg!.servers!) assert.ok(typeof server.urls === 'string' || Array.isArray(server.urls));
    assert.deepEqual(ack.pps.map((p) => p.sessionId), [admin.session.sessionId]);
    assert.equal(ack.pps[0]!.id, admin.session.sessionId);
    assert.equal(publishers[0]?.[1], 'JOIN');

    // Heartbeats every 300 ms keep the member well past the server's 2 s window, and their acks carry the list.
    await waitFor('3 heartbeat acks', () => publishers.filter(([, source]) => source === 'HEARTBEAT').length >= 3);
    const heartbeat = publishers.findLast(([, source]) => source === 'HEARTBEAT')!;
    assert.deepEqual(heartbeat[0].map((p) => p.userId), [admin.session.userId]);
    await delay(HEARTBEAT_TIMEOUT_MS + 500);
    assert.equal(admin.state, 'joined');
    const [latest] = await nextEvent(admin, 'publishers', (_pps, source) => source === 'HEARTBEAT');
    assert.deepEqual(latest.map((p) => p.userId), [admin.session.userId], 'still a member after the heartbeat window');

    // A second member: the admin's list changes by PUBLISH_LIST_CHANGED.
    const changed = nextEvent(admin, 'publishers', (pps, source) => source === 'PUBLISH_LIST_CHANGED' && pps.length === 2);
    const member = client({ rid, ch: 'p2p' });
    assert.equal((await member.join()).pt, 'publisher');
    await changed;
    assert.equal(admin.publishers.length, 2);
  });

  test('offer/answer/ice reach the peer as the bare signal; the candidate travels in `sdp`', async () => {
    const [a, b] = await room('p2p');
    const atB = record(b, 'signal');
    const atA = record(a, 'signal');

    a.offer('v=0 offer-sdp', undefined, { restarting: false });
    await waitFor('offer at b', () => atB.length === 1);
    const offer = atB[0]![0] as ForwardedSignal & { op?: unknown };
    assert.equal(offer.s, 'OFFER');
    assert.equal((offer as { sdp: string }).sdp, 'v=0 offer-sdp');
    assert.deepEqual(offer.ss, a.session, 'ss names the sender');
    assert.deepEqual(offer.op, { restarting: false });
    assert.equal('action' in offer, false, 'forwarded signals carry no envelope');

    b.answer('v=0 answer-sdp', a.session.userId);
    await waitFor('answer at a', () => atA.length === 1);
    assert.deepEqual(atA[0]![0], { s: 'ANSWER', sdp: 'v=0 answer-sdp', to: a.session.userId, ch: 'p2p', ss: b.session, rid: b.joinAck!.rid });

    a.ice('candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host', { userId: b.session.userId, sessionId: b.session.sessionId });
    await waitFor('ice at b', () => atB.length === 2);
    const ice = atB[1]![0] as { s: string; sdp: string };
    assert.equal(ice.s, 'ICE');
    assert.equal(ice.sdp, 'candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host');
  });

  test('joined → leaved → initializing → joined: leave and restart', async () => {
    const [admin, member] = await room('p2p');
    const states = recordStates(member);
    const gone = nextEvent(admin, 'publishers', (pps, source) => source === 'PUBLISH_LIST_CHANGED' && pps.length === 1);
    await member.leave();
    assert.equal(member.state, 'leaved');
    await gone;
    assert.throws(() => member.offer('x'), MobzStateError, 'no signals after leave');
    await assert.rejects(member.leave(), MobzStateError);

    const back = nextEvent(admin, 'publishers', (pps, source) => source === 'PUBLISH_LIST_CHANGED' && pps.length === 2);
    await member.join();
    await back;
    assertPath(states, ['joined', 'leaved', 'initializing', 'joined']);
    assert.deepEqual(states.map((s) => s.reason), ['leave', 'join', 'join-acked']);
    await assert.rejects(member.join(), MobzStateError, 'join() while joined is refused');
  });

  test('initializing → failed: a JOIN ack without 200 (room not found)', async () => {
    const lonely = client({ rid: freshId('missing'), ch: 'm2m' });
    const states = recordStates(lonely);
    const errorAcks = record(lonely, 'errorAck');
    const error = await lonely.join().then(
      () => assert.fail('join of a missing room resolved'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof MobzJoinError);
    assert.equal(error.ack?.c, 4001);
    assert.equal(error.reason, 'join-rejected:4001');
    assert.equal(errorAcks[0]?.[0].s, 'JOIN');
    assertPath(states, ['idle', 'initializing', 'failed']);
    await assert.rejects(lonely.join(), MobzStateError, 'failed is final');
    assert.throws(() => lonely.offer('x'), MobzStateError);
  });

  test('joined → failed: kicked by the admin', async () => {
    const [admin, member] = await room('m2m');
    const states = recordStates(member);
    const kick = nextEvent(member, 'signal', (signal) => signal.s === 'KICK');
    admin.kick({ userId: member.session.userId, sessionId: member.session.sessionId });
    const [signal] = await kick;
    assert.deepEqual(signal.ss, admin.session);
    const change = await reached(states, 'failed');
    assert.equal(change.reason, 'kicked');
    assert.equal(admin.state, 'joined', 'the admin is unaffected');
  });

  test('joined → reinitializing → joined: the server closes with 1001 after maxConnectionMs, the client rejoins transparently', async () => {
    const short = await startNode({ 'mobz.maxConnectionMs': 600, 'mobz.heartbeatTimeoutMs': HEARTBEAT_TIMEOUT_MS });
    const rid = freshId('room');
    const a = client({ url: short.wsUrl, rid, ch: 'p2p', op: { roomCreating: true } });
    const b = client({ url: short.wsUrl, rid, ch: 'p2p' });
    try {
      const statesA = recordStates(a);
      await a.join();
      await b.join();
      const atB = record(b, 'signal');
      await waitFor('two server-side closes survived', () => statesA.filter((s) => s.reason === 'server-closed:1001').length >= 2 && a.state === 'joined');
      for (let i = 0; i < statesA.length - 1; i++) {
        if (statesA[i]!.to === 'reinitializing') assert.equal(statesA[i + 1]!.to, 'joined', `rejoined after ${statesA[i]!.reason}`);
      }
      assert.ok(!statesA.some((s) => s.to === 'waitingNetwork'), 'an orderly close is not a network loss');
      // Signals sent while away wait in the outbox; signals sent right after a rejoin go out
      // at once. Both are far from the next close (the next test covers the edge).
      let cycle = 0;
      a.on('state', ({ to }) => {
        if (cycle >= 3) return;
        if (to === 'reinitializing') a.offer(`while-away-${cycle}`);
        if (to === 'joined') a.offer(`after-rejoin-${cycle++}`);
      });
      await waitFor('6 offers at b', () => atB.length >= 6);
      assert.deepEqual(
        atB.map(([signal]) => (signal as { sdp: string }).sdp),
        [0, 1, 2].flatMap((i) => [`while-away-${i}`, `after-rejoin-${i}`]),
      );
    } finally {
      await Promise.all([a.close(), b.close()]);
      await short.close();
    }
  });

  // An orderly close (1001) must not lose what the client wrote before it saw the close:
  // the server keeps handling frames until the client's close frame arrives.
  test(
    'signals written while the server is closing with 1001 still arrive',
    async () => {
      const short = await startNode({ 'mobz.maxConnectionMs': 300, 'mobz.heartbeatTimeoutMs': HEARTBEAT_TIMEOUT_MS });
      const rid = freshId('room');
      const a = client({ url: short.wsUrl, rid, ch: 'p2p', op: { roomCreating: true } });
      const b = client({ url: short.wsUrl, rid, ch: 'p2p' });
      try {
        await a.join();
        await b.join();
        const atB = record(b, 'signal');
        for (let i = 0; i < 400; i++) {
          a.offer(String(i));
          await delay(5);
        }
        await delay(1500);
        const received = atB.map(([signal]) => Number((signal as { sdp: string }).sdp));
        assert.deepEqual(
          Array.from({ length: 400 }, (_, i) => i).filter((i) => !received.includes(i)),
          [],
          'offers lost around a 1001 close',
        );
      } finally {
        await Promise.all([a.close(), b.close()]);
        await short.close();
      }
    },
  );

  test('joined → reinitializing → joined: the server forgot an expired member (4002 to its heartbeat)', async () => {
    // Heartbeats every 3 s against a 2 s window: the member expires between two of them.
    const [admin, slow] = await room('m2m', { heartbeatIntervalMs: 3000 });
    const states = recordStates(slow);
    const errorAcks = record(slow, 'errorAck');
    const expired = nextEvent(admin, 'publishers', (pps, source) => source === 'PUBLISH_LIST_CHANGED' && pps.length === 1);
    await expired;
    await reached(states, 'joined', 1, 10_000);
    assertPath(states, ['joined', 'reinitializing', 'joined']);
    assert.equal(states[0]!.reason, 'forgotten:4002');
    assert.equal(errorAcks[0]?.[0].s, 'HEARTBEAT');
    assert.equal(errorAcks[0]?.[0].c, 4002);
    await waitFor('the admin sees the member again', () => admin.publishers.length === 2);
  });

  test('join() after leave(): a creator comes back to the room the others kept, or creates it again once it is gone', async () => {
    const [admin, member] = await room('m2m');
    const errorAcks = record(admin, 'errorAck');
    await admin.leave();
    const back = await admin.join();
    assert.equal(back.pt, 'publisher', 'joined the kept room as a member, not refused with 4022');
    assert.deepEqual(errorAcks, [], 'the 4022 it handled itself is not reported');
    await waitFor('the member sees the creator again', () => member.publishers.length === 2);
    await member.leave();
    await admin.leave();
    assert.equal((await admin.join()).pt, 'admin', 'the last LEAVE deleted the room: the creating JOIN makes it again');
  });

  test('reinitializing → failed: the room is gone when the member comes back', async () => {
    const [admin, slow] = await room('m2m', { heartbeatIntervalMs: 3000 });
    const states = recordStates(slow);
    await admin.leave();
    // Alone and silent past the window: the member expires and the room is deleted.
    const change = await reached(states, 'failed', 0, 10_000);
    assertPath(states, ['joined', 'reinitializing', 'failed']);
    assert.equal(states[0]!.reason, 'forgotten:4001');
    assert.equal(change.reason, 'join-rejected:4001');
  });

  test('joined → waitingNetwork → reinitializing → joined: a cut network; buffered signals go out in order after the rejoin', async () => {
    const proxy = await startTcpProxy(node.port);
    proxies.push(proxy);
    const rid = freshId('room');
    const a = client({ url: proxy.wsUrl, rid, ch: 'p2p', op: { roomCreating: true } });
    const b = client({ rid, ch: 'p2p' });
    await a.join();
    await b.join();
    const statesA = recordStates(a);
    const atA = record(a, 'signal');
    const atB = record(b, 'signal');
    const listsAtB = record(b, 'publishers');

    proxy.cut();
    const lost = await reached(statesA, 'waitingNetwork');
    assert.match(lost.reason, /^socket-lost:/);
    a.offer('buffered-offer');
    a.ice('buffered-ice-1');
    a.ice('buffered-ice-2');
    // The server noticed the close: what b sends now waits at the server for a's return.
    await delay(300);
    b.answer('sent-while-a-was-away');
    await delay(300);
    assert.equal(atB.length, 0, 'nothing leaves a while it is offline');
    assert.ok(proxy.accepted > 1, 'a keeps trying to reconnect');

    proxy.restore();
    await reached(statesA, 'joined', 1);
    assertPath(statesA, ['joined', 'waitingNetwork', 'reinitializing', 'joined']);
    assert.equal(statesA[1]!.reason, 'rejoin');
    await waitFor('3 signals at b', () => atB.length >= 3);
    assert.deepEqual(
      atB.map(([signal]) => [signal.s, (signal as { sdp: string }).sdp]),
      [
        ['OFFER', 'buffered-offer'],
        ['ICE', 'buffered-ice-1'],
        ['ICE', 'buffered-ice-2'],
      ],
    );
    await waitFor('the answer b sent meanwhile reaches a', () => atA.length >= 1);
    assert.equal((atA[0]![0] as { sdp: string }).sdp, 'sent-while-a-was-away');
    assert.ok(
      listsAtB.every(([pps]) => pps.length === 2),
      'a reconnect within the heartbeat window is no leave for the others',
    );
  });

  test('every transition of the diagram was exercised', () => {
    const all = TRANSITIONS.map(([from, to]) => `${from}→${to}`);
    assert.equal(all.length, 11);
    assert.deepEqual(
      all.filter((edge) => !edges.has(edge)),
      [],
      `edges seen: ${[...edges].join(', ')}`,
    );
    const unexpected = [...edges].filter((edge) => !all.includes(edge));
    assert.deepEqual(unexpected, [], 'no transition outside the diagram');
  });
});
