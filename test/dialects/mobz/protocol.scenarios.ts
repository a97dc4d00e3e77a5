import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Overrides, TestNode, Topology } from '../../support/switchboard-node.ts';
import type { WsPeer } from '../../support/ws-peer.ts';
import {
  addMember,
  answer,
  checkJoinAck,
  createRoom,
  delay,
  expectErrorAck,
  expectForward,
  expectHeartbeatAck,
  expectPlc,
  fresh,
  frame,
  heartbeat,
  ice,
  join,
  keepHeartbeating,
  kick,
  leave,
  Member,
  nextFrame,
  offer,
  openMobz,
  ppsEntry,
  publishAccept,
  publishReject,
  publishRequest,
  Room,
  ROUTES,
  sendSignal,
  session,
  target,
  update,
  watch,
  withTimeout,
  type Form,
  type Route,
  type Signal,
  type SignalName,
} from './helpers.ts';

export const TURN_SECRET = 'mobz-suite-secret';
export const STUN_URL = 'stun:stun.switchboard.test:3478';
export const TURN_URL = 'turn:127.0.0.1:3478?transport=udp';

/** Settings of the main run: known ICE servers, TURN on, a small resume buffer; timers at their defaults. */
export const SUITE_OVERRIDES: Overrides = {
  iceServers: [{ urls: [STUN_URL] }],
  'turn.urls': [TURN_URL],
  'turn.secret': TURN_SECRET,
  'turn.ttlS': 600,
  'mobz.resumeBufferSignals': 8,
};

/** Heartbeat window of the timing run (every member there must heartbeat to stay). */
export const HEARTBEAT_WINDOW_MS = 600;
export const TIMING_OVERRIDES: Overrides = { 'mobz.heartbeatTimeoutMs': HEARTBEAT_WINDOW_MS };

export const KEEPALIVE_MS = 300;
export const MAX_CONNECTION_MS = 2500;
export const CONNECTION_TIMER_OVERRIDES: Overrides = { 'mobz.keepaliveMs': KEEPALIVE_MS, 'mobz.maxConnectionMs': MAX_CONNECTION_MS };

export type TopologyFactory = (overrides: Overrides) => Promise<Topology>;

/** Starts a topology per describe block; `node(i)` spreads parties over its nodes. */
function withTopology(makeTopology: TopologyFactory, overrides: Overrides): (i?: number) => TestNode {
  let topology: Topology;
  before(async () => {
    topology = await makeTopology(overrides);
  });
  after(async () => {
    await topology.close();
  });
  return (i = 0) => topology.nodes[i % topology.nodes.length]!;
}

/** Reads frames for `ms` and returns them (for "nothing but …" checks). */
async function drain(peer: WsPeer, ms: number): Promise<string[]> {
  await delay(ms);
  const frames: string[] = [];
  while (peer.pending > 0) frames.push(await peer.nextText());
  return frames;
}

/**
 * Every rule of specs/mobz.md (Transport, Rooms, WebRTC) and docs/mobz-behaviour.md as
 * one suite, run unchanged on one node and on a cluster where the members of one room
 * sit on different nodes (member i on node i mod n), so every forward crosses nodes.
 */
export function mobzProtocolSuite(makeTopology: TopologyFactory): void {
  describe('signals (default timers)', () => {
    const node = withTopology(makeTopology, SUITE_OVERRIDES);

    /** admin + 8 publishers (+ viewers) of an m2m/a2m room, spread over the nodes. */
    async function fullRoom(ch: 'm2m' | 'a2m' = 'm2m', viewers = 1): Promise<{ room: Room; admin: Member; publishers: Member[]; viewers: Member[] }> {
      const { room, admin } = await createRoom(node(0), ch);
      const publishers: Member[] = [];
      for (let i = 1; i < 9; i++) publishers.push(await addMember(room, node(i)));
      const viewerList: Member[] = [];
      for (let i = 0; i < viewers; i++) {
        const viewer = await addMember(room, node(i + 1));
        assert.equal(viewer.role, 'viewer');
        viewerList.push(viewer);
      }
      return { room, admin, publishers, viewers: viewerList };
    }

    async function p2pPair(): Promise<{ room: Room; a: Member; b: Member }> {
      const { room, admin: a } = await createRoom(node(0), 'p2p');
      const b = await addMember(room, node(1));
      return { room, a, b };
    }

    /** A socket that still works: it can create a room and get the JOIN ack. */
    async function assertStillServes(peer: WsPeer): Promise<void> {
      await createRoom(node(0), 'p2p', { peer });
    }

    describe('envelope and dispatch', () => {
      /** Runs one signal through `form` and checks its effect, which only its own handler produces. */
      const dispatch: Record<SignalName, (form: Form) => Promise<void>> = {
        JOIN: async (form) => {
          const { room } = await createRoom(node(0), 'm2m', { form });
          await addMember(room, node(1), { form });
        },
        LEAVE: async (form) => {
          const { room, a, b } = await p2pPair();
          b.send(leave(b.who), form);
          room.remove(b);
          await expectPlc(a.peer, room.rid, room.pps(), 'the remaining member');
        },
        UPDATE: async (form) => {
          const { room, a, b } = await p2pPair();
          b.send(update(b.who, false, true), form);
          b.video = false;
          await expectPlc(a.peer, room.rid, room.pps());
          await expectPlc(b.peer, room.rid, room.pps(), 'the sender');
        },
        HEARTBEAT: async (form) => {
          const { admin } = await createRoom(node(0), 'm2m');
          await expectHeartbeatAck(admin, fresh('bid'), form);
        },
        KICK: async (form) => {
          const { room, admin } = await createRoom(node(0), 'm2m');
          const b = await addMember(room, node(1));
          const signal = kick(admin.who, target(b.ss));
          admin.send(signal, form);
          room.remove(b);
          await expectForward(b.peer, signal, 'the KICK at the kicked member');
          await expectPlc(admin.peer, room.rid, room.pps());
        },
        PUBLISH_REQUEST: async (form) => {
          const { admin, viewers } = await fullRoom();
          const signal = publishRequest(viewers[0]!.who, { msg: 'let me in' });
          viewers[0]!.send(signal, form);
          await expectForward(admin.peer, signal, 'the PUBLISH_REQUEST at the admin');
        },
        PUBLISH_ACCEPT: async (form) => {
          const { room, admin, publishers, viewers } = await fullRoom();
          const [viewer] = viewers;
          publishers[7]!.send(leave(publishers[7]!.who));
          room.remove(publishers[7]!);
          await room.expectPlcAtAll();
          const signal = publishAccept(admin.who, target(viewer!.ss));
          admin.send(signal, form);
          viewer!.role = 'publisher';
          const frames = [await nextFrame(viewer!.peer, 'accept or PLC'), await nextFrame(viewer!.peer, 'accept or PLC')];
          assert.ok(
            frames.some((f) => f.text === JSON.stringify(signal)),
            `the promoted viewer gets the PUBLISH_ACCEPT: ${frames.map((f) => f.text).join(' | ')}`,
          );
          await room.expectPlcAtAll(viewer);
        },
        PUBLISH_REJECT: async (form) => {
          const { admin, viewers } = await fullRoom();
          const signal = publishReject(admin.who, target(viewers[0]!.ss));
          admin.send(signal, form);
          await expectForward(viewers[0]!.peer, signal, 'the PUBLISH_REJECT at the viewer');
        },
        OFFER: async (form) => {
          const { a, b } = await p2pPair();
          const signal = offer(a.who);
          a.send(signal, form);
          await expectForward(b.peer, signal);
        },
        ANSWER: async (form) => {
          const { a, b } = await p2pPair();
          const signal = answer(b.who);
          b.send(signal, form);
          await expectForward(a.peer, signal);
        },
        ICE: async (form) => {
          const { a, b } = await p2pPair();
          const signal = ice(a.who);
          a.send(signal, form);
          await expectForward(b.peer, signal);
        },
        WATCH: async (form) => {
          const { room, admin } = await createRoom(node(0), 'm2m');
          const b = await addMember(room, node(1));
          const signal = watch(b.who, target(admin.ss));
          b.send(signal, form);
          await expectForward(admin.peer, signal, 'the WATCH at the watched publisher');
        },
      };
      for (const [route, s] of Object.entries(ROUTES) as Array<[Route, SignalName]>) {
        it(`{"action":"${route}","data":{"s":"${s}",…}} is dispatched to ${s}`, () => dispatch[s]('envelope'));
        it(`a bare {"s":"${s}",…} is dispatched by its s`, () => dispatch[s]('bare'));
      }

      it('a forwarded signal is the sender\'s data text byte for byte (whitespace and escapes kept)', async () => {
        const { a, b } = await p2pPair();
        const dataText = JSON.stringify(offer(a.who, 'v=0\r\na=x:é 😀\r\n'), null, 2).replace('"OFFER"', '"\\u004fFFER"');
        a.peer.send(`{ "action" : "offer" , "data" : ${dataText} }`);
        await expectForward(b.peer, dataText);
      });

      const join0 = () => join({ rid: fresh('r'), ch: 'p2p', ss: session() }, { roomCreating: true });
      const envelopeErrors: Array<[string, () => { text: string; s: string; req: unknown }]> = [
        ['an unknown route (data.s known)', () => {
          const data = join0();
          return { text: JSON.stringify({ action: 'dance', data }), s: 'JOIN', req: data };
        }],
        ['an unknown route and an unknown s', () => {
          const data = { s: 'DANCE', rid: 'x' };
          return { text: JSON.stringify({ action: 'dance', data }), s: 'UNKNOWN', req: data };
        }],
        ['a bare signal with an unknown s', () => {
          const data = { ...join0(), s: 'DANCE' };
          return { text: JSON.stringify(data), s: 'UNKNOWN', req: data };
        }],
        ['a bare signal without s', () => {
          const { s: _s, ...data } = join0();
          return { text: JSON.stringify(data), s: 'UNKNOWN', req: data };
        }],
        ['a known route whose data.s is unknown', () => {
          const data = { ...join0(), s: 'DANCE' };
          return { text: JSON.stringify({ action: 'join', data }), s: 'JOIN', req: data };
        }],
        ['a route whose data.s names another signal (join carrying LEAVE)', () => {
          const data = leave({ rid: fresh('r'), ch: 'p2p', ss: session() });
          return { text: JSON.stringify({ action: 'join', data }), s: 'LEAVE', req: data };
        }],
        ['a route whose data.s names another signal (offer carrying ICE)', () => {
          const data = ice({ rid: fresh('r'), ch: 'p2p', ss: session() });
          return { text: JSON.stringify({ action: 'offer', data }), s: 'ICE', req: data };
        }],
        ['the route in the wrong case ("JOIN")', () => {
          const data = join0();
          return { text: JSON.stringify({ action: 'JOIN', data }), s: 'JOIN', req: data };
        }],
        ['invalid JSON', () => ({ text: '{"action":"join","data":{"s":"JOIN",', s: 'UNKNOWN', req: '{"action":"join","data":{"s":"JOIN",' })],
        ['a JSON array', () => ({ text: '[1,2]', s: 'UNKNOWN', req: [1, 2] })],
        ['a JSON string', () => ({ text: '"JOIN"', s: 'UNKNOWN', req: 'JOIN' })],
        ['a JSON number', () => ({ text: '42', s: 'UNKNOWN', req: 42 })],
        ['JSON null', () => ({ text: 'null', s: 'UNKNOWN', req: null })],
        ['data that is not an object', () => ({ text: '{"action":"join","data":5}', s: 'JOIN', req: 5 })],
        ['data that is an array', () => ({ text: '{"action":"offer","data":["OFFER"]}', s: 'OFFER', req: ['OFFER'] })],
      ];
      for (const [label, make] of envelopeErrors) {
        it(`${label} → 2001 error ack; the socket keeps working`, async () => {
          const peer = await openMobz(node(0));
          const { text, s, req } = make();
          peer.send(text);
          await expectErrorAck(peer, 2001, s, req);
          await peer.expectSilence(100);
          await assertStillServes(peer);
        });
      }

      it('a route without data → 2001 for that route\'s signal; the socket keeps working', async () => {
        const peer = await openMobz(node(0));
        peer.send('{"action":"leave"}');
        const { json, text } = await nextFrame(peer, 'an error ack');
        assert.equal(json.c, 2001, text);
        assert.equal(json.s, 'LEAVE', text);
        assert.equal(typeof json.b?.msg, 'string', text);
        await assertStillServes(peer);
      });

      it('every route with another route\'s signal → 2001 naming the carried signal', async () => {
        const peer = await openMobz(node(0));
        const routes = Object.keys(ROUTES) as Route[];
        for (let i = 0; i < routes.length; i++) {
          const carried = ROUTES[routes[(i + 1) % routes.length]!];
          const data = { s: carried, ch: 'm2m', rid: fresh('r'), ss: session() };
          peer.send(JSON.stringify({ action: routes[i], data }));
          await expectErrorAck(peer, 2001, carried, data, `route ${routes[i]} carrying ${carried}`);
        }
      });

      it('garbage on one socket disturbs neither it nor other sessions', async () => {
        const { a, b } = await p2pPair();
        const noisy = await openMobz(node(1));
        for (const text of ['{', '[]', '{"action":"nope","data":{}}', '{"s":"NOPE"}']) noisy.send(text);
        for (let i = 0; i < 4; i++) assert.equal((await nextFrame(noisy, `error ack ${i}`)).json.c, 2001);
        const signal = offer(a.who);
        a.send(signal);
        await expectForward(b.peer, signal);
        await assertStillServes(noisy);
      });
    });

    describe('JOIN', () => {
      it('roomCreating creates the room: ack {pps:[creator],rid,pt:"admin",eg:"native",es.icfg{is,servers}} with minted TURN credentials', async () => {
        const ss = session('creator');
        const rid = fresh('room');
        const peer = await openMobz(node(0));
        sendSignal(peer, join({ rid, ch: 'm2m', ss }, { roomCreating: true }));
        const ack = await nextFrame(peer, 'the JOIN ack');
        checkJoinAck(ack, rid, 'admin', [ppsEntry(ss, 'admin', true, true)]);
        const icfg = ack.json.b.es.icfg;
        assert.ok(icfg.is.includes(STUN_URL), `is carries the STUN URL: ${JSON.stringify(icfg.is)}`);
        assert.ok(icfg.is.includes(TURN_URL), `is carries the TURN URL: ${JSON.stringify(icfg.is)}`);
        const urlsOf = (s: { urls: string | string[] }) => (typeof s.urls === 'string' ? [s.urls] : s.urls);
        assert.ok(icfg.servers.some((s: { urls: string | string[] }) => urlsOf(s).includes(STUN_URL)), 'a STUN RTCIceServer');
        const turn = icfg.servers.find((s: { urls: string | string[] }) => urlsOf(s).includes(TURN_URL));
        assert.ok(turn, `a TURN RTCIceServer in ${JSON.stringify(icfg.servers)}`);
        assert.equal(typeof turn.username, 'string');
        const ttl = Number(turn.username.split(':')[0]) - Date.now() / 1000;
        assert.ok(ttl > 590 && ttl <= 601, `TURN credential expires ${ttl}s ahead (turn.ttlS 600)`);
        assert.equal(turn.credential, createHmac('sha1', TURN_SECRET).update(turn.username).digest('base64'));
      });

      it('pps entries carry username/fullname/avatar only when the JOIN\'s ss had them', async () => {
        const { room } = await createRoom(node(0), 'm2m', { ss: session('named', { username: 'ada', fullname: 'Ada Lovelace', avatar: 'https://example.test/a.png' }) });
        await addMember(room, node(1), { ss: session('plain') });
      });

      it('roomCreating on an existing room → 4022; the room and its member are untouched', async () => {
        const { room, admin } = await createRoom(node(0), 'm2m');
        const peer = await openMobz(node(1));
        const signal = join({ rid: room.rid, ch: 'm2m', ss: session() }, { roomCreating: true });
        sendSignal(peer, signal);
        await expectErrorAck(peer, 4022, 'JOIN', signal);
        await admin.peer.expectSilence(150);
        await expectHeartbeatAck(admin);
      });

      it('a JOIN without roomCreating (and with roomCreating:false) of a missing room → 4001', async () => {
        const peer = await openMobz(node(1));
        for (const roomCreating of [undefined, false]) {
          const signal = join({ rid: fresh('missing'), ch: 'm2m', ss: session() }, { roomCreating });
          sendSignal(peer, signal);
          await expectErrorAck(peer, 4001, 'JOIN', signal);
        }
      });

      it('p2p: creator admin, second member publisher, a third → 4025 ROOM_FULL', async () => {
        const { room, admin } = await createRoom(node(0), 'p2p');
        const b = await addMember(room, node(1));
        assert.equal(b.role, 'publisher');
        const peer = await openMobz(node(2));
        const signal = join({ rid: room.rid, ch: 'p2p', ss: session() }, {});
        sendSignal(peer, signal);
        await expectErrorAck(peer, 4025, 'JOIN', signal);
        await room.expectSilenceAtAll(150);
        await expectHeartbeatAck(admin);
      });

      for (const ch of ['m2m', 'a2m'] as const) {
        it(`${ch}: admin + 8 publishers, then viewers; a viewer's JOIN ack lists publishers only and nobody gets a PLC`, async () => {
          const { room, publishers, viewers } = await fullRoom(ch, 2);
          assert.equal(publishers.length, 8);
          assert.deepEqual(viewers.map((v) => v.role), ['viewer', 'viewer']);
          await room.expectSilenceAtAll(150);
          await expectHeartbeatAck(viewers[1]!);
        });
      }

      it('p2m: creator admin (the one publisher), later joiners viewers', async () => {
        const { room } = await createRoom(node(0), 'p2m');
        const v1 = await addMember(room, node(1));
        const v2 = await addMember(room, node(2));
        assert.deepEqual([v1.role, v2.role], ['viewer', 'viewer']);
        await room.expectSilenceAtAll(150);
      });

      it('ve/ae of the JOIN are the member\'s video/audio in pps', async () => {
        const { room } = await createRoom(node(0), 'm2m', { ve: false, ae: true });
        await addMember(room, node(1), { ve: true, ae: false });
      });

      it('a JOIN whose ch differs from the room\'s → 2002 (no member added)', async () => {
        const { room, admin } = await createRoom(node(0), 'm2m');
        const peer = await openMobz(node(1));
        for (const ch of ['p2p', 'a2m', 'p2m'] as const) {
          const signal = join({ rid: room.rid, ch, ss: session() }, {});
          sendSignal(peer, signal);
          await expectErrorAck(peer, 2002, 'JOIN', signal);
          const creating = join({ rid: room.rid, ch, ss: session() }, { roomCreating: true });
          sendSignal(peer, creating);
          const reply = await nextFrame(peer, 'an error ack');
          assert.ok([2002, 4022].includes(reply.json.c), `roomCreating with the wrong ch: ${reply.text}`);
        }
        await admin.peer.expectSilence(100);
        await expectHeartbeatAck(admin);
      });

      it('one socket may be a member of several rooms', async () => {
        const { room: r1, admin: a1 } = await createRoom(node(0), 'p2p');
        const { room: r2, admin: a2 } = await createRoom(node(0), 'm2m', { peer: a1.peer });
        assert.equal(a2.peer, a1.peer);
        const b1 = await addMember(r1, node(1));
        const sig = offer(b1.who);
        b1.send(sig);
        await expectForward(a1.peer, sig);
        const b2 = await addMember(r2, node(1));
        const w = watch(b2.who, target(a2.ss));
        b2.send(w);
        await expectForward(a1.peer, w);
      });
    });

    describe('LEAVE, UPDATE, HEARTBEAT', () => {
      it('LEAVE removes at once: the other gets a PLC; no LEAVE ack; later signals from/to the leaver → 4002/4003', async () => {
        const { room, a, b } = await p2pPair();
        const signal = leave(b.who);
        b.send(signal);
        room.remove(b);
        await expectPlc(a.peer, room.rid, room.pps());
        const leaverFrames = await drain(b.peer, 200);
        assert.ok(!leaverFrames.some((t) => JSON.parse(t).s === 'LEAVE'), `no LEAVE ack: ${leaverFrames.join(' | ')}`);
        const fromLeaver = offer(b.who);
        b.send(fromLeaver);
        await expectErrorAck(b.peer, 4002, 'OFFER', fromLeaver);
        const toLeaver = offer(a.who);
        a.send(toLeaver);
        await expectErrorAck(a.peer, 4003, 'OFFER', toLeaver);
        const again = leave(b.who);
        b.send(again);
        await expectErrorAck(b.peer, 4002, 'LEAVE', again);
      });

      it('the admin\'s LEAVE makes the oldest remaining publisher admin (PLC shows it; it may then KICK)', async () => {
        const { room, admin } = await createRoom(node(0), 'm2m');
        const b = await addMember(room, node(1));
        const c = await addMember(room, node(2));
        admin.send(leave(admin.who));
        room.remove(admin);
        assert.equal(b.role, 'admin');
        await room.expectPlcAtAll();
        const byC = kick(c.who, target(b.ss));
        c.send(byC);
        await expectErrorAck(c.peer, 4051, 'KICK', byC);
        const byB = kick(b.who, target(c.ss));
        b.send(byB);
        room.remove(c);
        await expectForward(c.peer, byB);
        await expectPlc(b.peer, room.rid, room.pps());
      });

      it('a viewer\'s LEAVE changes no publisher list: no PLC', async () => {
        const { room } = await createRoom(node(0), 'p2m');
        const viewer = await addMember(room, node(1));
        viewer.send(leave(viewer.who));
        room.remove(viewer);
        await room.expectSilenceAtAll(200);
      });

      it('the last LEAVE deletes the room: JOIN without roomCreating → 4001; with it → a new room', async () => {
        const { room, a, b } = await p2pPair();
        a.send(leave(a.who));
        room.remove(a);
        await expectPlc(b.peer, room.rid, room.pps());
        b.send(leave(b.who));
        await delay(100);
        const peer = await openMobz(node(1));
        const signal = join({ rid: room.rid, ch: 'p2p', ss: session() }, {});
        sendSignal(peer, signal);
        await expectErrorAck(peer, 4001, 'JOIN', signal);
        await createRoom(node(0), 'p2p', { rid: room.rid });
      });

      it('LEAVE of a missing room → 4001; from a non-member → 4002', async () => {
        const peer = await openMobz(node(1));
        const missing = leave({ rid: fresh('missing'), ch: 'm2m', ss: session() });
        sendSignal(peer, missing);
        await expectErrorAck(peer, 4001, 'LEAVE', missing);
        const { room } = await createRoom(node(0), 'm2m');
        const stranger = leave({ rid: room.rid, ch: 'm2m', ss: session() });
        sendSignal(peer, stranger);
        await expectErrorAck(peer, 4002, 'LEAVE', stranger);
        await room.expectSilenceAtAll(100);
      });

      it('UPDATE by a publisher and by the admin: PLC to everyone, the sender included, and no other reply', async () => {
        const { room, a, b } = await p2pPair();
        b.send(update(b.who, false, true));
        b.video = false;
        await room.expectPlcAtAll();
        a.send(update(a.who, true, false));
        a.audio = false;
        await room.expectPlcAtAll();
        await room.expectSilenceAtAll(150);
      });

      it('UPDATE by a viewer → 4051 and no PLC', async () => {
        const { room } = await createRoom(node(0), 'p2m');
        const viewer = await addMember(room, node(1));
        const signal = update(viewer.who, false, false);
        viewer.send(signal);
        await expectErrorAck(viewer.peer, 4051, 'UPDATE', signal);
        await room.expectSilenceAtAll(150);
      });

      it('UPDATE with the wrong ch → 2002', async () => {
        const { admin } = await createRoom(node(0), 'm2m');
        const signal = update({ ...admin.who, ch: 'a2m' }, false, false);
        admin.send(signal);
        await expectErrorAck(admin.peer, 2002, 'UPDATE', signal);
      });

      it('HEARTBEAT is acked ({pps,rid,bid}) only with send_ack:true', async () => {
        const { room, admin } = await createRoom(node(0), 'm2m');
        const b = await addMember(room, node(1), { ve: false });
        await expectHeartbeatAck(b);
        admin.send(heartbeat(admin.who, fresh('bid'), false));
        admin.send(heartbeat(admin.who, fresh('bid')));
        await admin.peer.expectSilence(200);
        await expectHeartbeatAck(admin);
      });

      it('HEARTBEAT of a missing room → 4001; from a non-member or from another socket than the member\'s → 4002', async () => {
        const peer = await openMobz(node(1));
        const missing = heartbeat({ rid: fresh('missing'), ch: 'm2m', ss: session() }, 'b1', true);
        sendSignal(peer, missing);
        await expectErrorAck(peer, 4001, 'HEARTBEAT', missing);
        const { admin } = await createRoom(node(0), 'm2m');
        const stranger = heartbeat({ ...admin.who, ss: session() }, 'b2', true);
        sendSignal(peer, stranger);
        await expectErrorAck(peer, 4002, 'HEARTBEAT', stranger);
        const impostor = heartbeat(admin.who, 'b3', true);
        sendSignal(peer, impostor);
        await expectErrorAck(peer, 4002, 'HEARTBEAT', impostor);
      });
    });

    describe('KICK', () => {
      it('the admin kicks {userId,sessionId}: the target gets the KICK, others a PLC; its socket stays open for its other rooms', async () => {
        const { room, admin } = await createRoom(node(0), 'm2m');
        const b = await addMember(room, node(1));
        const c = await addMember(room, node(2));
        const { admin: elsewhere } = await createRoom(node(1), 'p2p', { peer: b.peer });
        const signal = kick(admin.who, target(b.ss));
        admin.send(signal);
        room.remove(b);
        await expectForward(b.peer, signal, 'the KICK at the kicked member');
        await room.expectPlcAtAll();
        await b.peer.expectSilence(150);
        await admin.peer.expectSilence(50);
        await expectHeartbeatAck(elsewhere);
        const fromKicked = heartbeat(b.who, 'x', true);
        b.send(fromKicked);
        await expectErrorAck(b.peer, 4002, 'HEARTBEAT', fromKicked);
        const toKicked = offer(c.who, undefined, target(b.ss));
        c.send(toKicked);
        await expectErrorAck(c.peer, 4003, 'OFFER', toKicked);
      });

      for (const [label, to] of [
        ['a userId string', (userId: string) => userId],
        ['{userId} without sessionId', (userId: string) => ({ userId })],
      ] as const) {
        it(`KICK to ${label} removes every session of that user`, async () => {
          const { room, admin } = await createRoom(node(0), 'm2m');
          const user = session('twice');
          const s1 = await addMember(room, node(1), { ss: user });
          const s2 = await addMember(room, node(2), { ss: { ...user, sessionId: fresh('second-session') } });
          const other = await addMember(room, node(3));
          const signal = kick(admin.who, to(user.userId));
          admin.send(signal);
          room.remove(s1);
          room.remove(s2);
          await expectForward(s1.peer, signal, 'the KICK at session 1');
          await expectForward(s2.peer, signal, 'the KICK at session 2');
          await room.expectPlcAtAll();
          await expectHeartbeatAck(other);
        });
      }

      it('KICK of a viewer: the viewer gets it, no PLC', async () => {
        const { room, admin } = await createRoom(node(0), 'p2m');
        const viewer = await addMember(room, node(1));
        const signal = kick(admin.who, target(viewer.ss));
        admin.send(signal);
        room.remove(viewer);
        await expectForward(viewer.peer, signal);
        await room.expectSilenceAtAll(150);
      });

      it('KICK by a publisher or a viewer (not the admin) → 4051', async () => {
        const { room, admin } = await createRoom(node(0), 'm2m');
        const b = await addMember(room, node(1));
        const byPublisher = kick(b.who, target(admin.ss));
        b.send(byPublisher);
        await expectErrorAck(b.peer, 4051, 'KICK', byPublisher);
        const { room: live, admin: host } = await createRoom(node(0), 'p2m');
        const viewer = await addMember(live, node(1));
        const byViewer = kick(viewer.who, target(host.ss));
        viewer.send(byViewer);
        await expectErrorAck(viewer.peer, 4051, 'KICK', byViewer);
        await room.expectSilenceAtAll(100);
        await live.expectSilenceAtAll(100);
      });

      it('KICK in p2p → 2002', async () => {
        const { a, b } = await p2pPair();
        const signal = kick(a.who, target(b.ss));
        a.send(signal);
        await expectErrorAck(a.peer, 2002, 'KICK', signal);
        await b.peer.expectSilence(100);
      });

      it('KICK of a non-member → 4003', async () => {
        const { admin } = await createRoom(node(0), 'm2m');
        const signal = kick(admin.who, target(session()));
        admin.send(signal);
        await expectErrorAck(admin.peer, 4003, 'KICK', signal);
      });
    });

    describe('PUBLISH_REQUEST, PUBLISH_ACCEPT, PUBLISH_REJECT', () => {
      for (const ch of ['m2m', 'a2m'] as const) {
        it(`${ch}: a viewer's PUBLISH_REQUEST reaches the admin only, as sent`, async () => {
          const { room, admin, viewers } = await fullRoom(ch);
          const signal = publishRequest(viewers[0]!.who);
          viewers[0]!.send(signal);
          await expectForward(admin.peer, signal);
          await room.expectSilenceAtAll(150);
        });
      }

      it('PUBLISH_REQUEST in the documented structure (its data carries "action":"publishRequest") is forwarded as sent', async () => {
        const { admin, viewers } = await fullRoom();
        const signal: Signal = { action: 'publishRequest', ...publishRequest(viewers[0]!.who, { msg: 'deprecated text' }) };
        viewers[0]!.send(signal);
        await expectForward(admin.peer, signal);
        await viewers[0]!.peer.expectSilence(100);
      });

      it('PUBLISH_REQUEST goes to the new admin after the admin left', async () => {
        const { room, admin, publishers, viewers } = await fullRoom();
        admin.send(leave(admin.who));
        room.remove(admin);
        assert.equal(publishers[0]!.role, 'admin');
        await room.expectPlcAtAll();
        const signal = publishRequest(viewers[0]!.who);
        viewers[0]!.send(signal);
        await expectForward(publishers[0]!.peer, signal);
      });

      it('PUBLISH_REQUEST from a publisher or the admin → 4023', async () => {
        const { room, admin } = await createRoom(node(0), 'm2m');
        const b = await addMember(room, node(1));
        for (const m of [b, admin]) {
          const signal = publishRequest(m.who);
          m.send(signal);
          await expectErrorAck(m.peer, 4023, 'PUBLISH_REQUEST', signal);
        }
      });

      it('PUBLISH_REQUEST in p2p and p2m → 2002', async () => {
        const { b } = await p2pPair();
        const inP2p = publishRequest(b.who);
        b.send(inP2p);
        await expectErrorAck(b.peer, 2002, 'PUBLISH_REQUEST', inP2p);
        const { room } = await createRoom(node(0), 'p2m');
        const viewer = await addMember(room, node(1));
        const inP2m = publishRequest(viewer.who);
        viewer.send(inP2m);
        await expectErrorAck(viewer.peer, 2002, 'PUBLISH_REQUEST', inP2m);
      });

      it('PUBLISH_ACCEPT with no free slot → 4025; after a slot frees it promotes the viewer: forwarded to it, PLC to all; it may then UPDATE', async () => {
        const { room, admin, publishers, viewers } = await fullRoom();
        const viewer = viewers[0]!;
        const full = publishAccept(admin.who, target(viewer.ss));
        admin.send(full);
        await expectErrorAck(admin.peer, 4025, 'PUBLISH_ACCEPT', full);
        const leaver = publishers[3]!;
        leaver.send(leave(leaver.who));
        room.remove(leaver);
        await room.expectPlcAtAll();
        const signal = publishAccept(admin.who, target(viewer.ss));
        admin.send(signal);
        viewer.role = 'publisher';
        const frames = [await nextFrame(viewer.peer, 'accept or PLC'), await nextFrame(viewer.peer, 'accept or PLC')];
        const forwarded = frames.find((f) => f.text === JSON.stringify(signal));
        assert.ok(forwarded, `the PUBLISH_ACCEPT reaches the viewer as sent: ${frames.map((f) => f.text).join(' | ')}`);
        const plc = frames.find((f) => f !== forwarded)!;
        assert.equal(plc.json.s, 'PUBLISH_LIST_CHANGED', plc.text);
        await room.expectPlcAtAll(viewer);
        viewer.send(update(viewer.who, false, true));
        viewer.video = false;
        await room.expectPlcAtAll();
        const again = publishRequest(viewer.who);
        viewer.send(again);
        await expectErrorAck(viewer.peer, 4023, 'PUBLISH_REQUEST', again);
      });

      it('PUBLISH_ACCEPT by a non-admin → 4051; of a publisher → 4023; of a non-member → 4003; in p2m → 2002', async () => {
        const { room, admin, publishers, viewers } = await fullRoom();
        const byPublisher = publishAccept(publishers[0]!.who, target(viewers[0]!.ss));
        publishers[0]!.send(byPublisher);
        await expectErrorAck(publishers[0]!.peer, 4051, 'PUBLISH_ACCEPT', byPublisher);
        const ofPublisher = publishAccept(admin.who, target(publishers[1]!.ss));
        admin.send(ofPublisher);
        await expectErrorAck(admin.peer, 4023, 'PUBLISH_ACCEPT', ofPublisher);
        const ofStranger = publishAccept(admin.who, target(session()));
        admin.send(ofStranger);
        await expectErrorAck(admin.peer, 4003, 'PUBLISH_ACCEPT', ofStranger);
        await room.expectSilenceAtAll(100);
        const { admin: host, room: live } = await createRoom(node(0), 'p2m');
        const liveViewer = await addMember(live, node(1));
        const inP2m = publishAccept(host.who, target(liveViewer.ss));
        host.send(inP2m);
        await expectErrorAck(host.peer, 2002, 'PUBLISH_ACCEPT', inP2m);
      });

      it('PUBLISH_REJECT is forwarded to the viewer, who stays a viewer; by a non-admin → 4051; to a non-member → 4003', async () => {
        const { room, admin, publishers, viewers } = await fullRoom();
        const viewer = viewers[0]!;
        const signal = publishReject(admin.who, viewer.ss.userId);
        admin.send(signal);
        await expectForward(viewer.peer, signal);
        await room.expectSilenceAtAll(150);
        const stillViewer = update(viewer.who, true, true);
        viewer.send(stillViewer);
        await expectErrorAck(viewer.peer, 4051, 'UPDATE', stillViewer);
        const byPublisher = publishReject(publishers[0]!.who, target(viewer.ss));
        publishers[0]!.send(byPublisher);
        await expectErrorAck(publishers[0]!.peer, 4051, 'PUBLISH_REJECT', byPublisher);
        const toStranger = publishReject(admin.who, target(session()));
        admin.send(toStranger);
        await expectErrorAck(admin.peer, 4003, 'PUBLISH_REJECT', toStranger);
      });
    });

    describe('WebRTC forwarding', () => {
      it('p2p without `to`: OFFER, ANSWER and ICE reach the other member as sent, and nothing comes back to the sender', async () => {
        const { a, b } = await p2pPair();
        const o = offer(a.who, undefined, undefined, { restarting: false, hlsForwarding: false });
        a.send(o);
        await expectForward(b.peer, o, 'OFFER');
        const an = answer(b.who);
        b.send(an);
        await expectForward(a.peer, an, 'ANSWER');
        for (let i = 0; i < 3; i++) {
          const fromA = ice(a.who, `candidate:${i} 1 udp 1 192.0.2.1 ${5000 + i} typ host`);
          a.send(fromA);
          await expectForward(b.peer, fromA, `ICE ${i} a→b`);
          const fromB = ice(b.who, `candidate:${i} 1 udp 1 192.0.2.2 ${6000 + i} typ host`);
          b.send(fromB);
          await expectForward(a.peer, fromB, `ICE ${i} b→a`);
        }
        await a.peer.expectSilence(150);
        await b.peer.expectSilence(0);
      });

      it('p2p with `to` as a userId string or {userId,sessionId} reaches that member', async () => {
        const { a, b } = await p2pPair();
        const byString = offer(a.who, undefined, b.ss.userId);
        a.send(byString);
        await expectForward(b.peer, byString);
        const byObject = ice(b.who, undefined, target(a.ss));
        b.send(byObject);
        await expectForward(a.peer, byObject);
        const byUserOnly = answer(b.who, undefined, { userId: a.ss.userId });
        b.send(byUserOnly);
        await expectForward(a.peer, byUserOnly);
      });

      it('p2p: `to` a non-member → 4003; alone in the room → 4003', async () => {
        const { room, admin: a } = await createRoom(node(0), 'p2p');
        const alone = offer(a.who);
        a.send(alone);
        await expectErrorAck(a.peer, 4003, 'OFFER', alone);
        const b = await addMember(room, node(1));
        for (const signal of [offer(a.who, undefined, 'nobody'), ice(a.who, undefined, target(session())), answer(a.who, undefined, { userId: b.ss.userId, sessionId: 'not-bs-session' })]) {
          a.send(signal);
          await expectErrorAck(a.peer, 4003, signal.s as string, signal);
        }
        await b.peer.expectSilence(100);
      });

      for (const ch of ['m2m', 'a2m'] as const) {
        it(`${ch} mesh: OFFER/ANSWER/ICE with \`to\` reach only that member; without \`to\` → 2001; to a non-member → 4003`, async () => {
          const { room, admin } = await createRoom(node(0), ch);
          const b = await addMember(room, node(1));
          const c = await addMember(room, node(2));
          const o = offer(admin.who, undefined, target(b.ss));
          admin.send(o);
          await expectForward(b.peer, o);
          const an = answer(b.who, undefined, target(admin.ss));
          b.send(an);
          await expectForward(admin.peer, an);
          const ic = ice(c.who, undefined, b.ss.userId);
          c.send(ic);
          await expectForward(b.peer, ic);
          await room.expectSilenceAtAll(150);
          for (const signal of [offer(admin.who), answer(b.who), ice(c.who)]) {
            const sender = room.members.find((m) => m.ss === (signal.ss as typeof m.ss))!;
            sender.send(signal);
            await expectErrorAck(sender.peer, 2001, signal.s as string, signal);
          }
          const toStranger = offer(admin.who, undefined, target(session()));
          admin.send(toStranger);
          await expectErrorAck(admin.peer, 4003, 'OFFER', toStranger);
        });
      }

      it('mesh: a viewer\'s OFFER → 4051; its WATCH reaches the publisher, who offers; the viewer answers', async () => {
        const { room, publishers, viewers } = await fullRoom();
        const viewer = viewers[0]!;
        const publisher = publishers[2]!;
        const denied = offer(viewer.who, undefined, target(publisher.ss));
        viewer.send(denied);
        await expectErrorAck(viewer.peer, 4051, 'OFFER', denied);
        const w = watch(viewer.who, target(publisher.ss));
        viewer.send(w);
        await expectForward(publisher.peer, w, 'WATCH at the publisher');
        const o = offer(publisher.who, undefined, target(viewer.ss));
        publisher.send(o);
        await expectForward(viewer.peer, o, 'OFFER at the viewer');
        const an = answer(viewer.who, undefined, target(publisher.ss));
        viewer.send(an);
        await expectForward(publisher.peer, an, 'ANSWER at the publisher');
        const ic = ice(viewer.who, undefined, target(publisher.ss));
        viewer.send(ic);
        await expectForward(publisher.peer, ic, 'ICE at the publisher');
        await room.expectSilenceAtAll(150);
      });

      it('WATCH of a non-member → 4024; WATCH in p2p → 2002', async () => {
        const { admin } = await createRoom(node(0), 'm2m');
        const w = watch(admin.who, target(session()));
        admin.send(w);
        await expectErrorAck(admin.peer, 4024, 'WATCH', w);
        const { a, b } = await p2pPair();
        const inP2p = watch(a.who, target(b.ss));
        a.send(inP2p);
        await expectErrorAck(a.peer, 2002, 'WATCH', inP2p);
      });

      it('OFFER/ANSWER/ICE in p2m → 2002', async () => {
        const { room, admin } = await createRoom(node(0), 'p2m');
        const viewer = await addMember(room, node(1));
        for (const signal of [offer(admin.who, undefined, target(viewer.ss)), answer(viewer.who, undefined, target(admin.ss)), ice(admin.who, undefined, target(viewer.ss))]) {
          const sender = signal.ss === admin.ss ? admin : viewer;
          sender.send(signal);
          await expectErrorAck(sender.peer, 2002, signal.s as string, signal);
        }
      });

      it('a room that does not exist → 4001; a sender that is not a member → 4002; a socket that did not JOIN that member → 4002', async () => {
        const stranger = await openMobz(node(1));
        const missing = offer({ rid: fresh('missing'), ch: 'p2p', ss: session() });
        sendSignal(stranger, missing);
        await expectErrorAck(stranger, 4001, 'OFFER', missing);
        const { a, b } = await p2pPair();
        const notMember = ice({ ...a.who, ss: session() });
        sendSignal(stranger, notMember);
        await expectErrorAck(stranger, 4002, 'ICE', notMember);
        const impostor = offer(a.who);
        sendSignal(stranger, impostor);
        await expectErrorAck(stranger, 4002, 'OFFER', impostor);
        const { admin: elsewhere } = await createRoom(node(1), 'm2m');
        const crossRoom = answer(a.who);
        elsewhere.send(crossRoom);
        await expectErrorAck(elsewhere.peer, 4002, 'ANSWER', crossRoom);
        const bSecondSocket = await openMobz(node(0));
        const sameUserOtherSocket = offer(b.who);
        sendSignal(bSecondSocket, sameUserOtherSocket);
        await expectErrorAck(bSecondSocket, 4002, 'OFFER', sameUserOtherSocket);
        await a.peer.expectSilence(150);
        await b.peer.expectSilence(0);
      });
    });

    describe('bad input → 2001 with req = the original signal', () => {
      type Mutation = [label: string, mutate: (s: Signal) => void];
      const common: Mutation[] = [
        ['without s', (s) => delete s.s],
        ['s: 7', (s) => (s.s = 7)],
        ['without ch', (s) => delete s.ch],
        ['ch: "x2x"', (s) => (s.ch = 'x2x')],
        ['ch: 1', (s) => (s.ch = 1)],
        ['without rid', (s) => delete s.rid],
        ['rid: 5', (s) => (s.rid = 5)],
        ['rid: ""', (s) => (s.rid = '')],
        ['without ss', (s) => delete s.ss],
        ['ss: "user"', (s) => (s.ss = 'user')],
        ['ss without userId', (s) => (s.ss = { ...(s.ss as object), userId: undefined })],
        ['ss without sessionId', (s) => (s.ss = { ...(s.ss as object), sessionId: undefined })],
        ['ss.userId: ""', (s) => (s.ss = { ...(s.ss as object), userId: '' })],
        ['ss.sessionId: 5', (s) => (s.ss = { ...(s.ss as object), sessionId: 5 })],
        ['an extra top-level key', (s) => (s.zzz = 1)],
      ];
      const veAe: Mutation[] = [
        ['ve: "yes"', (s) => (s.ve = 'yes')],
        ['without ve', (s) => delete s.ve],
        ['ae: 1', (s) => (s.ae = 1)],
        ['without ae', (s) => delete s.ae],
      ];
      const sdp: Mutation[] = [
        ['without sdp', (s) => delete s.sdp],
        ['sdp: 5', (s) => (s.sdp = 5)],
        ['to: 5', (s) => (s.to = 5)],
        ['to without userId', (s) => (s.to = { sessionId: 'x' })],
      ];
      const to: Mutation[] = [
        ['without to', (s) => delete s.to],
        ['to: 5', (s) => (s.to = 5)],
        ['to: null', (s) => (s.to = null)],
        ['to without userId', (s) => (s.to = { sessionId: 'x' })],
        ['to.userId: 5', (s) => (s.to = { userId: 5 })],
      ];
      const specific: Record<SignalName, Mutation[]> = {
        JOIN: [...veAe, ['op: "create"', (s) => (s.op = 'create')]],
        LEAVE: [],
        UPDATE: veAe,
        HEARTBEAT: [
          ['without bid', (s) => delete s.bid],
          ['bid: 5', (s) => (s.bid = 5)],
          ['send_ack: "yes"', (s) => (s.send_ack = 'yes')],
        ],
        KICK: to,
        PUBLISH_REQUEST: [
          ['ve: "yes"', (s) => (s.ve = 'yes')],
          ['msg: 5', (s) => (s.msg = 5)],
        ],
        PUBLISH_ACCEPT: to,
        PUBLISH_REJECT: to,
        OFFER: sdp,
        ANSWER: sdp,
        ICE: sdp,
        WATCH: to,
      };

      for (const name of Object.keys(specific) as SignalName[]) {
        it(`${name}: missing, mistyped and extra keys`, async (t) => {
          const { room, admin } = await createRoom(node(0), 'm2m');
          const b = await addMember(room, node(1));
          const valid = (): Signal => {
            switch (name) {
              case 'JOIN':
                return join({ rid: fresh('r'), ch: 'm2m', ss: session() }, { roomCreating: true });
              case 'LEAVE':
                return leave(admin.who);
              case 'UPDATE':
                return update(admin.who, false, false);
              case 'HEARTBEAT':
                return heartbeat(admin.who, 'bid', true);
              case 'KICK':
                return kick(admin.who, target(b.ss));
              case 'PUBLISH_REQUEST':
                return publishRequest(admin.who, { msg: 'hi' });
              case 'PUBLISH_ACCEPT':
                return publishAccept(admin.who, target(b.ss));
              case 'PUBLISH_REJECT':
                return publishReject(admin.who, target(b.ss));
              case 'OFFER':
                return offer(admin.who, undefined, target(b.ss));
              case 'ANSWER':
                return answer(admin.who, undefined, target(b.ss));
              case 'ICE':
                return ice(admin.who, undefined, target(b.ss));
              case 'WATCH':
                return watch(admin.who, target(b.ss));
            }
          };
          for (const [label, mutate] of [...common, ...specific[name]]) {
            await t.test(label, async () => {
              const signal = structuredClone(valid());
              mutate(signal);
              const req = JSON.parse(JSON.stringify(signal)) as Signal;
              admin.peer.send(JSON.stringify({ action: Object.entries(ROUTES).find(([, s]) => s === name)![0], data: signal }));
              await expectErrorAck(admin.peer, 2001, name, req);
            });
          }
          await room.expectSilenceAtAll(100);
          await expectHeartbeatAck(admin);
        });
      }
    });

    describe('frame and message limits (defaults: 32768 / 131072 bytes)', () => {
      /** A heartbeat frame of exactly `bytes` bytes (ASCII), acked with its bid. */
      function heartbeatOfSize(member: Member, bytes: number): { text: string; bid: string } {
        const base = frame(heartbeat(member.who, '', true));
        const bid = 'x'.repeat(bytes - Buffer.byteLength(base));
        const text = frame(heartbeat(member.who, bid, true));
        assert.equal(Buffer.byteLength(text), bytes);
        return { text, bid };
      }

      async function expectBigAck(member: Member, bid: string): Promise<void> {
        const { json, text } = await nextFrame(member.peer, 'the HEARTBEAT ack of the big message', 10_000);
        assert.equal(json.s, 'HEARTBEAT', text.slice(0, 200));
        assert.equal(json.c, 200, text.slice(0, 200));
        assert.equal(json.b.bid, bid, 'the ack carries the big bid');
      }

      /** Sends `text` as a fragmented text message, `chunk` bytes per frame. */
      function sendFragmented(peer: WsPeer, text: string, chunk: number): void {
        for (let offset = 0; offset < text.length; offset += chunk) {
          peer.socket.send(text.slice(offset, offset + chunk), { binary: false, fin: offset + chunk >= text.length });
        }
      }

      it('a single frame of exactly 32768 bytes is accepted', async () => {
        const { admin } = await createRoom(node(0), 'm2m');
        const { text, bid } = heartbeatOfSize(admin, 32768);
        admin.peer.socket.send(text);
        await expectBigAck(admin, bid);
      });

      it('a single frame of 32769 bytes closes the socket with 1009', async () => {
        const { admin } = await createRoom(node(0), 'm2m');
        admin.peer.socket.send(heartbeatOfSize(admin, 32769).text);
        const { code } = await withTimeout(admin.peer.closed, 'close after an oversized frame', 5000);
        assert.equal(code, 1009);
      });

      it('a message of exactly 131072 bytes in four 32 KiB frames is accepted', async () => {
        const { admin } = await createRoom(node(0), 'm2m');
        const { text, bid } = heartbeatOfSize(admin, 131072);
        sendFragmented(admin.peer, text, 32768);
        await expectBigAck(admin, bid);
        await expectHeartbeatAck(admin);
      });

      it('a message of 131073 bytes in frames of at most 32 KiB closes the socket with 1009', async () => {
        const { admin } = await createRoom(node(0), 'm2m');
        sendFragmented(admin.peer, heartbeatOfSize(admin, 131073).text, 32768);
        const { code } = await withTimeout(admin.peer.closed, 'close after an oversized message', 5000);
        assert.equal(code, 1009);
      });

      it('closing one socket for size does not disturb the other member', async () => {
        const { room, a, b } = await p2pPair();
        b.peer.socket.send('x'.repeat(40000));
        assert.equal((await withTimeout(b.peer.closed, 'close', 5000)).code, 1009);
        b.bound = false;
        await room.expectSilenceAtAll(150);
        await expectHeartbeatAck(a);
      });
    });

    describe('reconnect without loss', () => {
      async function closeAndSettle(member: Member): Promise<void> {
        member.peer.close();
        await withTimeout(member.peer.closed, 'the old socket closes', 5000);
        member.bound = false;
        await delay(100);
      }

      /** Re-JOIN `member` on a new socket on `node`; returns the new socket after checking the ack. */
      async function rejoin(member: Member, onNode: TestNode, roomCreating?: boolean): Promise<WsPeer> {
        const peer = await openMobz(onNode);
        sendSignal(peer, join(member.who, { ve: member.video, ae: member.audio, roomCreating }));
        checkJoinAck(await nextFrame(peer, 'the re-JOIN ack'), member.room.rid, member.role, member.room.pps());
        member.peer = peer;
        member.bound = true;
        return peer;
      }

      it('signals for a member whose socket closed are delivered after its re-JOIN on another node: JOIN ack first, then exactly those, in order; nobody sees a PLC', async () => {
        const { room, a, b } = await p2pPair();
        await closeAndSettle(b);
        const sent = [offer(a.who), ice(a.who, 'candidate:1 1 udp 1 192.0.2.1 1 typ host'), ice(a.who, 'candidate:2 1 udp 1 192.0.2.1 2 typ host', b.ss.userId), ice(a.who, 'candidate:3 1 udp 1 192.0.2.1 3 typ host', target(b.ss))];
        for (const signal of sent) a.send(signal);
        await a.peer.expectSilence(300);
        const peer = await rejoin(b, node(0));
        for (const [i, signal] of sent.entries()) await expectForward(peer, signal, `buffered signal ${i}`);
        await peer.expectSilence(200);
        await room.expectSilenceAtAll(0);
        const live = answer(b.who);
        b.send(live);
        await expectForward(a.peer, live);
        const next = ice(a.who);
        a.send(next);
        await expectForward(peer, next);
      });

      it('a re-JOIN with roomCreating:true is a re-bind (not 4022), for a publisher and for the admin', async () => {
        const { room, a, b } = await p2pPair();
        await closeAndSettle(b);
        const toB = offer(a.who);
        a.send(toB);
        const bPeer = await rejoin(b, node(0), true);
        await expectForward(bPeer, toB);
        await closeAndSettle(a);
        const toA = answer(b.who);
        b.send(toA);
        const aPeer = await rejoin(a, node(1), true);
        await expectForward(aPeer, toA);
        await room.expectSilenceAtAll(200);
      });

      it('a re-JOIN while the old socket is open moves the member; the old socket\'s late close does not unbind it and its signals → 4002', async () => {
        const { room, a, b } = await p2pPair();
        const old = b.peer;
        const peer = await rejoin(b, node(0));
        await peer.expectSilence(150);
        const first = offer(a.who);
        a.send(first);
        await expectForward(peer, first);
        const fromOld = ice(b.who);
        sendSignal(old, fromOld);
        await expectErrorAck(old, 4002, 'ICE', fromOld);
        old.close();
        await withTimeout(old.closed, 'the old socket closes', 5000);
        await delay(150);
        const second = ice(a.who);
        a.send(second);
        await expectForward(peer, second, 'a signal after the old socket closed arrives at once');
        await room.expectSilenceAtAll(150);
      });

      it('a PLC that happened while the member was away is not replayed; its re-JOIN ack carries the current list', async () => {
        const { room, admin } = await createRoom(node(0), 'm2m');
        const b = await addMember(room, node(1));
        await closeAndSettle(b);
        await addMember(room, node(1));
        const peer = await rejoin(b, node(0));
        await peer.expectSilence(200);
        await room.expectSilenceAtAll(0);
        await expectHeartbeatAck(admin);
      });

      it('the resume buffer keeps mobz.resumeBufferSignals (8) signals; later ones are dropped', async () => {
        const { a, b } = await p2pPair();
        await closeAndSettle(b);
        const sent = Array.from({ length: 12 }, (_, i) => ice(a.who, `candidate:${i} 1 udp 1 192.0.2.1 ${i} typ host`));
        for (const signal of sent) a.send(signal);
        await a.peer.expectSilence(300);
        const peer = await rejoin(b, node(1));
        for (const [i, signal] of sent.slice(0, 8).entries()) await expectForward(peer, signal, `buffered signal ${i}`);
        await peer.expectSilence(250);
      });
    });
  });

  describe(`heartbeat timing (mobz.heartbeatTimeoutMs ${HEARTBEAT_WINDOW_MS})`, () => {
    const node = withTopology(makeTopology, TIMING_OVERRIDES);
    const W = HEARTBEAT_WINDOW_MS;
    const BEAT = 150;

    /** A PLC for `member` after the silent window; returns ms since `since`. */
    async function awaitRemovalPlc(member: Member, since: number): Promise<number> {
      await expectPlc(member.peer, member.room.rid, member.room.pps(), member.ss.userId).catch((error: Error) => {
        throw new Error(`${error.message}`);
      });
      return Date.now() - since;
    }

    it('a heartbeating member stays for many windows; one that stops is removed after its window and the other gets a PLC', async () => {
      const { room, admin: a } = await createRoom(node(0), 'm2m');
      const beatA = keepHeartbeating(a, BEAT);
      const b = await addMember(room, node(1));
      const beatB = keepHeartbeating(b, BEAT);
      try {
        await Promise.all([a.peer.expectSilence(W * 3), b.peer.expectSilence(0)]);
        beatB.stop();
        const stoppedAt = beatB.lastAt;
        room.remove(b);
        const waited = await withTimeout(awaitRemovalPlc(a, stoppedAt), 'the PLC for the expired member', W + 8000);
        assert.ok(waited >= W * 0.75, `removed ${waited} ms after its last heartbeat (window ${W})`);
        assert.ok(waited <= W + 5000, `removed ${waited} ms after its last heartbeat (window ${W})`);
        const toExpired = offer(a.who, undefined, target(b.ss));
        a.send(toExpired);
        await expectErrorAck(a.peer, 4003, 'OFFER', toExpired);
        const fromExpired = heartbeat(b.who, 'late', true);
        b.send(fromExpired);
        let reply = await nextFrame(b.peer, 'a 4002 for the expired member');
        while (reply.json?.s === 'PUBLISH_LIST_CHANGED') reply = await nextFrame(b.peer, 'a 4002 for the expired member');
        assert.deepEqual(reply.json, { c: 4002, s: 'HEARTBEAT', b: { req: fromExpired, msg: reply.json?.b?.msg } }, reply.text);
        assert.equal(typeof reply.json.b.msg, 'string');
        // An expired member's JOIN is a fresh join: everyone sees it again.
        const back = await addMember(room, node(1), { ss: b.ss, peer: b.peer });
        assert.equal(back.role, 'publisher');
      } finally {
        beatA.stop();
        beatB.stop();
      }
    });

    it('a re-JOIN restarts the window like a HEARTBEAT: a member that only re-JOINs stays', async () => {
      const { room, admin: a } = await createRoom(node(0), 'm2m');
      const beatA = keepHeartbeating(a, BEAT);
      const b = await addMember(room, node(1));
      try {
        const until = Date.now() + W * 3;
        while (Date.now() < until) {
          await delay(W / 3);
          b.send(join(b.who, {}));
          checkJoinAck(await nextFrame(b.peer, 'the re-JOIN ack'), room.rid, 'publisher', room.pps());
        }
        await a.peer.expectSilence(0);
        await expectHeartbeatAck(b);
      } finally {
        beatA.stop();
      }
    });

    it('a closed socket without LEAVE is not a leave: signals to it are buffered until its window ends, then it is removed (PLC) and signals to it → 4003', async () => {
      const { room, admin: a } = await createRoom(node(0), 'p2p');
      const beatA = keepHeartbeating(a, BEAT);
      const b = await addMember(room, node(1));
      const beatB = keepHeartbeating(b, BEAT);
      try {
        await delay(W);
        beatB.stop();
        const lastBeat = beatB.lastAt;
        b.peer.close();
        await withTimeout(b.peer.closed, 'close', 5000);
        b.bound = false;
        const buffered = offer(a.who);
        a.send(buffered);
        room.remove(b);
        const waited = await withTimeout(awaitRemovalPlc(a, lastBeat), 'the PLC for the member whose socket closed', W + 8000);
        assert.ok(waited >= W * 0.75, `removed ${waited} ms after its last heartbeat (window ${W}); a close is not a leave`);
        const late = ice(a.who);
        a.send(late);
        await expectErrorAck(a.peer, 4003, 'ICE', late);
      } finally {
        beatA.stop();
        beatB.stop();
      }
    });

    it('a member that never heartbeats is removed one window after its JOIN; the admin\'s expiry hands admin to the oldest publisher', async () => {
      const joinedAt = Date.now();
      const { room, admin } = await createRoom(node(0), 'm2m');
      const b = await addMember(room, node(1));
      const beatB = keepHeartbeating(b, BEAT);
      const c = await addMember(room, node(0));
      const beatC = keepHeartbeating(c, BEAT);
      try {
        room.remove(admin);
        assert.equal(b.role, 'admin');
        const waited = await withTimeout(awaitRemovalPlc(b, joinedAt), 'the PLC for the expired admin', W + 8000);
        assert.ok(waited >= W * 0.75, `removed ${waited} ms after its JOIN`);
        await expectPlc(c.peer, room.rid, room.pps(), 'c');
        const byNewAdmin = kick(b.who, target(c.ss));
        b.send(byNewAdmin);
        room.remove(c);
        await expectForward(c.peer, byNewAdmin);
        await expectPlc(b.peer, room.rid, room.pps());
      } finally {
        beatB.stop();
        beatC.stop();
      }
    });

    it('an empty room is deleted once its last member\'s window ends: later JOIN without roomCreating → 4001', async () => {
      const { room, admin } = await createRoom(node(0), 'p2p');
      const joinedAt = Date.now();
      admin.peer.close();
      const probe = await openMobz(node(1));
      const poke = leave({ rid: room.rid, ch: 'p2p', ss: session() });
      sendSignal(probe, poke);
      await expectErrorAck(probe, 4002, 'LEAVE', poke, 'the room still exists right after its member\'s socket closed');
      const creating = join({ rid: room.rid, ch: 'p2p', ss: session() }, { roomCreating: true });
      sendSignal(probe, creating);
      await expectErrorAck(probe, 4022, 'JOIN', creating);
      let deletedAfter = -1;
      while (Date.now() - joinedAt < W + 8000) {
        await delay(100);
        sendSignal(probe, poke);
        const reply = await nextFrame(probe, 'a reply to LEAVE');
        if (reply.json.c === 4001) {
          deletedAfter = Date.now() - joinedAt;
          break;
        }
        assert.equal(reply.json.c, 4002, reply.text);
      }
      assert.ok(deletedAfter >= W * 0.75, `room deleted ${deletedAfter} ms after its member's JOIN (window ${W})`);
      const signal = join({ rid: room.rid, ch: 'p2p', ss: session() }, {});
      sendSignal(probe, signal);
      await expectErrorAck(probe, 4001, 'JOIN', signal);
    });
  });

  describe(`connection timers (mobz.keepaliveMs ${KEEPALIVE_MS}, mobz.maxConnectionMs ${MAX_CONNECTION_MS})`, () => {
    const node = withTopology(makeTopology, CONNECTION_TIMER_OVERRIDES);

    it('an idle socket gets {"c":200,"s":"KEEPALIVE","b":{"ts":<ms>}} after keepaliveMs, and again', async () => {
      const peer = await openMobz(node(1));
      const opened = Date.now();
      for (let i = 0; i < 2; i++) {
        const { json, text } = await nextFrame(peer, `KEEPALIVE ${i}`, 3000);
        assert.deepEqual(Object.keys(json).sort(), ['b', 'c', 's'], text);
        assert.equal(json.c, 200, text);
        assert.equal(json.s, 'KEEPALIVE', text);
        assert.deepEqual(Object.keys(json.b).sort(), ['ts'], text);
        assert.equal(typeof json.b.ts, 'number', text);
        assert.ok(Math.abs(json.b.ts - Date.now()) < 5000, `ts ${json.b.ts} is epoch ms now`);
      }
      assert.ok(Date.now() - opened >= KEEPALIVE_MS * 2 * 0.75, 'two keepalives take about two idle periods');
    });

    it('a socket with traffic more often than keepaliveMs gets no KEEPALIVE', async () => {
      const { admin } = await createRoom(node(0), 'm2m');
      const beat = keepHeartbeating(admin, KEEPALIVE_MS / 3);
      try {
        await admin.peer.expectSilence(KEEPALIVE_MS * 4);
      } finally {
        beat.stop();
      }
    });

    it('maxConnectionMs closes the connection with 1001; that close is not a leave (a re-JOIN re-binds without PLC)', async () => {
      const opened = Date.now();
      const { room, admin: a } = await createRoom(node(0), 'p2p');
      const b = await addMember(room, node(1));
      const [closeA, closeB] = await withTimeout(Promise.all([a.peer.closed, b.peer.closed]), 'maxConnectionMs closes', MAX_CONNECTION_MS + 8000);
      const lived = Date.now() - opened;
      assert.equal(closeA.code, 1001);
      assert.equal(closeB.code, 1001);
      assert.ok(lived >= MAX_CONNECTION_MS * 0.75, `closed after ${lived} ms`);
      for (const [member, onNode] of [[b, node(0)], [a, node(1)]] as const) {
        const peer = await openMobz(onNode);
        sendSignal(peer, join(member.who, {}));
        checkJoinAck(await nextFrame(peer, 're-JOIN ack'), room.rid, member.role, room.pps());
        member.peer = peer;
      }
      const signal = offer(a.who);
      a.send(signal);
      await expectForward(b.peer, signal);
      await a.peer.expectSilence(100);
    });
  });
}
