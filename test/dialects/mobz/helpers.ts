import assert from 'node:assert/strict';
import { WsPeer } from '../../support/ws-peer.ts';

import { delay } from '../../support/waiting.ts';

export { delay, waitFor, withTimeout } from '../../support/waiting.ts';

/** How long a room creator may get an (optional) PUBLISH_LIST_CHANGED after its JOIN ack. */
const CREATOR_PLC_GRACE_MS = 100;

/**
 * Black-box helpers for the mobz dialect, written from shared/specs/mobz.md,
 * reference/mobz/*.md and docs/mobz-behaviour.md only (nothing from src/dialects/mobz).
 */

export type Channel = 'p2p' | 'm2m' | 'a2m' | 'p2m';
export type Role = 'admin' | 'publisher' | 'viewer';
export type SignalName = 'JOIN' | 'LEAVE' | 'UPDATE' | 'HEARTBEAT' | 'KICK' | 'PUBLISH_REQUEST' | 'PUBLISH_ACCEPT' | 'PUBLISH_REJECT' | 'OFFER' | 'ANSWER' | 'ICE' | 'WATCH';
/** How a frame carries its signal: the documents' `{action,data}` envelope, or the bare signal. */
export type Form = 'envelope' | 'bare';
/** A signal as a plain JSON object (tests mutate copies of it to make bad input). */
export type Signal = Record<string, unknown>;
export type Target = string | { userId: string; sessionId?: string };

/** The twelve API-Gateway routes of the documents and the signal each carries. */
export const ROUTES = {
  join: 'JOIN',
  leave: 'LEAVE',
  updateVideo: 'UPDATE',
  heartbeat: 'HEARTBEAT',
  kick: 'KICK',
  publishRequest: 'PUBLISH_REQUEST',
  publishAccept: 'PUBLISH_ACCEPT',
  publishReject: 'PUBLISH_REJECT',
  offer: 'OFFER',
  answer: 'ANSWER',
  iceCandidate: 'ICE',
  watch: 'WATCH',
} as const satisfies Record<string, SignalName>;
export type Route = keyof typeof ROUTES;
export const ROUTE_OF = Object.fromEntries(Object.entries(ROUTES).map(([route, s]) => [s, route])) as Record<SignalName, Route>;

/** Publisher slots per channel (docs/mobz-behaviour.md). */
export const PUBLISHER_SLOTS: Record<Channel, number> = { p2p: 2, m2m: 9, a2m: 9, p2m: 1 };

let counter = 0;
/** An id no other test uses (scenarios share one topology). */
export function fresh(label: string): string {
  return `${label}-${process.pid}-${++counter}`;
}

export interface Session {
  userId: string;
  sessionId: string;
  category?: string;
  host?: string;
  deviceId?: string;
  username?: string;
  fullname?: string;
  avatar?: string;
}

/** A full `ss` (userId, sessionId, category, host, deviceId) with fresh ids. */
export function session(label = 'user', extra: Partial<Session> = {}): Session {
  return { userId: fresh(`${label}-u`), sessionId: fresh(`${label}-s`), category: 'stream', host: 'Web', deviceId: fresh(`${label}-d`), ...extra };
}

/** Who sends a room signal: the room (rid, ch) and the session. */
export interface Membership {
  rid: string;
  ch: Channel;
  ss: Session;
}

// ---------------------------------------------------------------- signal builders

export function join(who: Membership, options: { ve?: boolean; ae?: boolean; roomCreating?: boolean; eg?: string } = {}): Signal {
  const signal: Signal = { s: 'JOIN', ch: who.ch, ss: who.ss, rid: who.rid, ve: options.ve ?? true, ae: options.ae ?? true, eg: options.eg ?? 'native' };
  if (options.roomCreating !== undefined) signal.op = { roomCreating: options.roomCreating };
  return signal;
}

export function leave(who: Membership): Signal {
  return { s: 'LEAVE', ch: who.ch, ss: who.ss, rid: who.rid };
}

export function update(who: Membership, ve: boolean, ae: boolean): Signal {
  return { s: 'UPDATE', ch: who.ch, ss: who.ss, rid: who.rid, ve, ae };
}

export function heartbeat(who: Membership, bid: string, sendAck?: boolean): Signal {
  const signal: Signal = { s: 'HEARTBEAT', ch: who.ch, ss: who.ss, rid: who.rid, bid };
  if (sendAck !== undefined) signal.send_ack = sendAck;
  return signal;
}

export function kick(who: Membership, to: Target): Signal {
  return { s: 'KICK', ch: who.ch, ss: who.ss, rid: who.rid, to };
}

export function publishRequest(who: Membership, options: { ve?: boolean; ae?: boolean; msg?: string } = {}): Signal {
  return { s: 'PUBLISH_REQUEST', ch: who.ch, ss: who.ss, rid: who.rid, ve: options.ve ?? true, ae: options.ae ?? true, ...(options.msg === undefined ? {} : { msg: options.msg }) };
}

export function publishAccept(who: Membership, to: Target): Signal {
  return { s: 'PUBLISH_ACCEPT', ch: who.ch, ss: who.ss, rid: who.rid, to };
}

export function publishReject(who: Membership, to: Target): Signal {
  return { s: 'PUBLISH_REJECT', ch: who.ch, ss: who.ss, rid: who.rid, to };
}

function webrtc(s: 'OFFER' | 'ANSWER' | 'ICE', who: Membership, sdp: string, to?: Target, op?: Record<string, unknown>): Signal {
  const signal: Signal = { s, ch: who.ch, ss: who.ss, rid: who.rid, sdp };
  if (to !== undefined) signal.to = to;
  if (op !== undefined) signal.op = op;
  return signal;
}

export function offer(who: Membership, sdp = 'v=0\r\no=- 3002825352830109796 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n', to?: Target, op?: Record<string, unknown>): Signal {
  return webrtc('OFFER', who, sdp, to, op);
}

export function answer(who: Membership, sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n', to?: Target): Signal {
  return webrtc('ANSWER', who, sdp, to);
}

/** The ICE candidate travels in the field named `sdp`. */
export function ice(who: Membership, candidate = 'candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host', to?: Target): Signal {
  return webrtc('ICE', who, candidate, to);
}

export function watch(who: Membership, to: Target): Signal {
  return { s: 'WATCH', ch: who.ch, ss: who.ss, rid: who.rid, to };
}

/** `{userId, sessionId}` of a session, as a `to`. */
export function target(ss: Session): { userId: string; sessionId: string } {
  return { userId: ss.userId, sessionId: ss.sessionId };
}

/** The frame text for a signal: `{"action":<route>,"data":<signal>}` or the bare signal. */
export function frame(signal: Signal, form: Form = 'envelope', route?: string): string {
  if (form === 'bare') return JSON.stringify(signal);
  return JSON.stringify({ action: route ?? ROUTE_OF[signal.s as SignalName], data: signal });
}

// ---------------------------------------------------------------- sockets

/** A node to connect to: an in-process TestNode or a spawned process. */
export interface NodeLike {
  readonly wsUrl: string;
}

export async function openMobz(node: NodeLike): Promise<WsPeer> {
  // permessage-deflate is off for this endpoint; ask for none so wire sizes are exact.
  return WsPeer.open(`${node.wsUrl}/mobz`, { perMessageDeflate: false });
}

export function sendSignal(peer: WsPeer, signal: Signal, form: Form = 'envelope'): void {
  peer.send(frame(signal, form));
}

/** The next frame, parsed, with its text in any assertion message. */
export async function nextFrame(peer: WsPeer, what: string, timeoutMs = 5000): Promise<{ text: string; json: any }> {
  let text: string;
  try {
    text = await peer.nextText(timeoutMs);
  } catch (error) {
    throw new Error(`expected ${what}: ${(error as Error).message}`);
  }
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    assert.fail(`expected ${what}, got non-JSON text ${text}`);
  }
}

// ---------------------------------------------------------------- expectations

const ANY_MSG = '<any string>';

/**
 * The next frame is the error ack `{"c":code,"s":s,"b":{"req":req,"msg":<string>}}`
 * (exactly these keys). `req` = the original signal.
 */
export async function expectErrorAck(peer: WsPeer, code: number, s: string, req: unknown, what = `error ack ${code} for ${s}`): Promise<void> {
  const { text, json } = await nextFrame(peer, what);
  const shown = json !== null && typeof json === 'object' ? structuredClone(json) : json;
  if (typeof shown?.b?.msg === 'string') shown.b.msg = ANY_MSG;
  assert.deepEqual(shown, { c: code, s, b: { req, msg: ANY_MSG } }, `${what}; got ${text.slice(0, 2000)}`);
}

/** The next frame is exactly the bare signal the sender sent, byte for byte. */
export async function expectForward(peer: WsPeer, signal: Signal | string, what = 'a forwarded signal'): Promise<void> {
  const expected = typeof signal === 'string' ? signal : JSON.stringify(signal);
  const { text } = await nextFrame(peer, what);
  assert.equal(text, expected, what);
}

export interface PpsEntry {
  id: string;
  userId: string;
  sessionId: string;
  role: Role;
  video: boolean;
  audio: boolean;
  host?: string;
  category?: string;
  deviceId?: string;
  username?: string;
  fullname?: string;
  avatar?: string;
}

/** The pps entry a publisher-role member must have (`publish` is checked as a boolean only). */
export function ppsEntry(ss: Session, role: Role, video: boolean, audio: boolean): PpsEntry {
  const entry: PpsEntry = { id: ss.sessionId, userId: ss.userId, sessionId: ss.sessionId, role, video, audio, host: ss.host, category: ss.category, deviceId: ss.deviceId };
  for (const key of ['username', 'fullname', 'avatar'] as const) if (ss[key] !== undefined) entry[key] = ss[key];
  return entry;
}

/** A received pps list, checked for `publish: boolean` on every entry, then without it, sorted by id. */
export function normalizePps(pps: unknown, context: string): PpsEntry[] {
  assert.ok(Array.isArray(pps), `pps must be an array (${context})`);
  return pps
    .map((raw: unknown) => {
      assert.ok(raw !== null && typeof raw === 'object', `pps entry must be an object (${context})`);
      const { publish, ...rest } = raw as Record<string, unknown>;
      assert.equal(typeof publish, 'boolean', `pps entry ${JSON.stringify(raw)} must carry a boolean "publish" (${context})`);
      return rest as unknown as PpsEntry;
    })
    .sort(byId);
}

function byId(a: PpsEntry, b: PpsEntry): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function sortPps(pps: PpsEntry[]): PpsEntry[] {
  return [...pps].sort(byId);
}

/** `{"c":200,"s":"PUBLISH_LIST_CHANGED","b":{"pps":[…],"rid"}}` with exactly these publishers. */
export function checkPlc(received: { text: string; json: any }, rid: string, pps: PpsEntry[], who = 'a member'): void {
  const { text, json } = received;
  assert.equal(json?.s, 'PUBLISH_LIST_CHANGED', `${who} expected PUBLISH_LIST_CHANGED, got ${text}`);
  assert.equal(json.c, 200, text);
  assert.deepEqual(Object.keys(json).sort(), ['b', 'c', 's'], text);
  assert.deepEqual(Object.keys(json.b ?? {}).sort(), ['pps', 'rid'], text);
  assert.equal(json.b.rid, rid, text);
  assert.deepEqual(normalizePps(json.b.pps, text), sortPps(pps), `${who}: PUBLISH_LIST_CHANGED publishers; got ${text}`);
}

export async function expectPlc(peer: WsPeer, rid: string, pps: PpsEntry[], who = 'a member'): Promise<void> {
  checkPlc(await nextFrame(peer, `PUBLISH_LIST_CHANGED for ${who}`), rid, pps, who);
}

/** `es.icfg`: `is` (URL strings) and `servers` (RTCIceServer objects). */
export function checkIceConfig(es: any, context: string): void {
  assert.ok(es && typeof es === 'object', `es must be an object (${context})`);
  const icfg = es.icfg;
  assert.ok(icfg && typeof icfg === 'object', `es.icfg must be an object (${context})`);
  assert.ok(Array.isArray(icfg.is) && icfg.is.length > 0, `es.icfg.is must be a non-empty array (${context})`);
  for (const url of icfg.is) assert.equal(typeof url, 'string', `es.icfg.is entries are strings (${context})`);
  assert.ok(Array.isArray(icfg.servers) && icfg.servers.length > 0, `es.icfg.servers must be a non-empty array (${context})`);
  for (const server of icfg.servers) {
    assert.ok(server && typeof server === 'object', `es.icfg.servers entries are objects (${context})`);
    const urls = typeof server.urls === 'string' ? [server.urls] : server.urls;
    assert.ok(Array.isArray(urls) && urls.length > 0 && urls.every((u: unknown) => typeof u === 'string'), `RTCIceServer.urls (${context})`);
  }
}

/** The JOIN ack: exactly `{c:200,s:"JOIN",b:{pps,rid,pt,eg:"native",es}}`. */
export function checkJoinAck(received: { text: string; json: any }, rid: string, pt: Role, pps: PpsEntry[]): void {
  const { text, json } = received;
  assert.equal(json?.s, 'JOIN', `expected the JOIN ack, got ${text}`);
  assert.equal(json.c, 200, `JOIN ack code; got ${text}`);
  assert.deepEqual(Object.keys(json).sort(), ['b', 'c', 's'], text);
  assert.deepEqual(Object.keys(json.b ?? {}).sort(), ['eg', 'es', 'pps', 'pt', 'rid'], text);
  assert.equal(json.b.rid, rid, text);
  assert.equal(json.b.pt, pt, `JOIN ack pt; got ${text}`);
  assert.equal(json.b.eg, 'native', text);
  checkIceConfig(json.b.es, text);
  assert.deepEqual(normalizePps(json.b.pps, text), sortPps(pps), `JOIN ack publishers; got ${text}`);
}

// ---------------------------------------------------------------- a room and its members, modelled

/** One member as the test believes the server sees it. */
export class Member {
  readonly room: Room;
  readonly ss: Session;
  readonly node: NodeLike;
  peer: WsPeer;
  role: Role;
  video: boolean;
  audio: boolean;
  /** Still in the room (not left, kicked or expired). */
  present = true;
  /** Its socket is open and bound to it (so it gets PUBLISH_LIST_CHANGED). */
  bound = true;

  constructor(room: Room, ss: Session, node: NodeLike, peer: WsPeer, role: Role, video: boolean, audio: boolean) {
    this.room = room;
    this.ss = ss;
    this.node = node;
    this.peer = peer;
    this.role = role;
    this.video = video;
    this.audio = audio;
  }

  get who(): Membership {
    return { rid: this.room.rid, ch: this.room.ch, ss: this.ss };
  }

  send(signal: Signal, form: Form = 'envelope'): void {
    sendSignal(this.peer, signal, form);
  }

  get isPublisher(): boolean {
    return this.role !== 'viewer';
  }
}

export class Room {
  readonly rid: string;
  readonly ch: Channel;
  readonly members: Member[] = [];

  constructor(rid: string, ch: Channel) {
    this.rid = rid;
    this.ch = ch;
  }

  /** The publisher list the server must report. */
  pps(): PpsEntry[] {
    return this.members.filter((m) => m.present && m.isPublisher).map((m) => ppsEntry(m.ss, m.role, m.video, m.audio));
  }

  /** Present members whose sockets are bound (they receive PUBLISH_LIST_CHANGED). */
  listeners(except?: Member): Member[] {
    return this.members.filter((m) => m.present && m.bound && m !== except);
  }

  get publisherCount(): number {
    return this.members.filter((m) => m.present && m.isPublisher).length;
  }

  /** Marks a member gone and, per docs/mobz-behaviour.md, makes the oldest remaining publisher admin when the admin went. */
  remove(member: Member): void {
    member.present = false;
    if (member.role === 'admin') {
      const heir = this.members.find((m) => m.present && m.isPublisher);
      if (heir) heir.role = 'admin';
    }
  }

  /** Every listener (but `except`) receives exactly one PUBLISH_LIST_CHANGED with the model's list. */
  async expectPlcAtAll(except?: Member): Promise<void> {
    for (const m of this.listeners(except)) await expectPlc(m.peer, this.rid, this.pps(), m.ss.userId);
  }

  async expectSilenceAtAll(ms = 200, except?: Member): Promise<void> {
    await Promise.all(this.listeners(except).map((m) => m.peer.expectSilence(ms)));
  }
}

export interface JoinOptions {
  ss?: Session;
  ve?: boolean;
  ae?: boolean;
  /** Reuse a socket (a socket may be in several rooms). */
  peer?: WsPeer;
  form?: Form;
}

/**
 * Sends JOIN and checks the reply: the JOIN ack (and, when a publisher joined, one
 * PUBLISH_LIST_CHANGED to the joiner — either order — and to every other listener).
 */
async function joinChecked(room: Room, node: NodeLike, role: Role, options: JoinOptions, roomCreating: boolean | undefined): Promise<Member> {
  const ss = options.ss ?? session();
  const peer = options.peer ?? (await openMobz(node));
  const ve = options.ve ?? true;
  const ae = options.ae ?? true;
  const member = new Member(room, ss, node, peer, role, ve, ae);
  const others = room.listeners();
  sendSignal(peer, join({ rid: room.rid, ch: room.ch, ss }, { ve, ae, roomCreating }), options.form);
  room.members.push(member);
  const first = await nextFrame(peer, `the JOIN ack (${role} ${ss.userId} in ${room.ch} room)`);
  if (role === 'viewer') {
    checkJoinAck(first, room.rid, role, room.pps());
  } else if (roomCreating) {
    // Whether creating a room is a "change of the publisher list" (and so also earns the
    // creator a PUBLISH_LIST_CHANGED) is open in the documents: accept one, check it if sent.
    checkJoinAck(first, room.rid, role, room.pps());
    await delay(CREATOR_PLC_GRACE_MS);
    if (peer.pending > 0) checkPlc(await nextFrame(peer, 'the creator\'s PUBLISH_LIST_CHANGED'), room.rid, room.pps(), 'the creator');
  } else {
    const second = await nextFrame(peer, `the JOIN ack and a PUBLISH_LIST_CHANGED for the joining ${role} (got ${first.text})`);
    const [ack, plc] = first.json?.s === 'JOIN' ? [first, second] : [second, first];
    checkJoinAck(ack, room.rid, role, room.pps());
    checkPlc(plc, room.rid, room.pps(), `the joining ${role}`);
  }
  if (role !== 'viewer') for (const other of others) await expectPlc(other.peer, room.rid, room.pps(), other.ss.userId);
  return member;
}

/** A new room (JOIN with roomCreating) whose creator is admin. */
export async function createRoom(node: NodeLike, ch: Channel, options: JoinOptions & { rid?: string } = {}): Promise<{ room: Room; admin: Member }> {
  const room = new Room(options.rid ?? fresh(`room-${ch}`), ch);
  const admin = await joinChecked(room, node, 'admin', options, true);
  return { room, admin };
}

/** A member joining an existing room with the role the slot rule gives it. */
export async function addMember(room: Room, node: NodeLike, options: JoinOptions = {}): Promise<Member> {
  const role: Role = room.publisherCount < PUBLISHER_SLOTS[room.ch] ? 'publisher' : 'viewer';
  return joinChecked(room, node, role, options, undefined);
}

/** Sends HEARTBEAT with send_ack and checks the ack `{c:200,s:"HEARTBEAT",b:{pps,rid,bid}}`. */
export async function expectHeartbeatAck(member: Member, bid = fresh('bid'), form: Form = 'envelope'): Promise<void> {
  member.send(heartbeat(member.who, bid, true), form);
  const { text, json } = await nextFrame(member.peer, 'the HEARTBEAT ack');
  assert.equal(json?.s, 'HEARTBEAT', text);
  assert.equal(json.c, 200, text);
  assert.deepEqual(Object.keys(json).sort(), ['b', 'c', 's'], text);
  assert.deepEqual(Object.keys(json.b ?? {}).sort(), ['bid', 'pps', 'rid'], text);
  assert.equal(json.b.rid, member.room.rid, text);
  assert.equal(json.b.bid, bid, text);
  assert.deepEqual(normalizePps(json.b.pps, text), sortPps(member.room.pps()), `HEARTBEAT ack publishers; got ${text}`);
}

/** Sends HEARTBEAT (no ack) every `everyMs` until stopped. */
export function keepHeartbeating(member: Member, everyMs: number): { stop(): void; readonly lastAt: number } {
  let lastAt = Date.now();
  const beat = () => {
    if (member.peer.socket.readyState !== member.peer.socket.OPEN) return;
    member.send(heartbeat(member.who, fresh('bid')));
    lastAt = Date.now();
  };
  beat();
  const timer = setInterval(beat, everyMs);
  return {
    stop: () => clearInterval(timer),
    get lastAt() {
      return lastAt;
    },
  };
}
