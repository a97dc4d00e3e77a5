import type { Address } from '../../core/message-router.ts';
import type { IceConfigProvider } from '../../services/turn-credentials.ts';
import { MobzRefusal } from './errors.ts';
import { refOf, type MemberPost } from './member-post.ts';
import { admin, admit, createRoom, findMember, isPublisher, newMember, promote, publishers, removeMembers, targets, type Member, type Room } from './room.ts';
import type { MemberRef, RoomStore } from './room-store.ts';
import type { Channel, ClientSignal, SignalName } from './schemas.ts';

/** The socket a signal came in on, as the room logic needs it. */
export interface Caller {
  readonly address: Address;
  reply(text: string): void;
  /** This socket now carries the member (its close will unbind it). */
  bound(ref: MemberRef): void;
  unbound(ref: MemberRef): void;
}

/** Rooms whose heartbeat windows this node watches. */
export interface HomeWatch {
  watch(rid: string): void;
}

const SUPPORTED: Readonly<Record<SignalName, readonly Channel[]>> = {
  JOIN: ['p2p', 'm2m', 'a2m', 'p2m'],
  LEAVE: ['p2p', 'm2m', 'a2m', 'p2m'],
  UPDATE: ['p2p', 'm2m', 'a2m', 'p2m'],
  HEARTBEAT: ['p2p', 'm2m', 'a2m', 'p2m'],
  KICK: ['m2m', 'a2m', 'p2m'],
  PUBLISH_REQUEST: ['m2m', 'a2m'],
  PUBLISH_ACCEPT: ['m2m', 'a2m'],
  PUBLISH_REJECT: ['m2m', 'a2m'],
  OFFER: ['p2p', 'm2m', 'a2m'],
  ANSWER: ['p2p', 'm2m', 'a2m'],
  ICE: ['p2p', 'm2m', 'a2m'],
  WATCH: ['m2m', 'a2m'],
};

const ppsText = (room: Room) => JSON.stringify(publishers(room));
const publishListChanged = (room: Room, rid: string) => `{"c":200,"s":"PUBLISH_LIST_CHANGED","b":{"pps":${ppsText(room)},"rid":${JSON.stringify(rid)}}}`;

/** What each mobz signal does to rooms and whom it reaches (specs/mobz.md, docs/mobz-behaviour.md). */
export class RoomSignals {
  readonly #nodeId: string;
  readonly #store: RoomStore;
  readonly #post: MemberPost;
  readonly #ice: IceConfigProvider;
  #homes: HomeWatch | undefined;

  constructor(nodeId: string, store: RoomStore, post: MemberPost, ice: IceConfigProvider) {
    this.#nodeId = nodeId;
    this.#store = store;
    this.#post = post;
    this.#ice = ice;
  }

  set homes(homes: HomeWatch) {
    this.#homes = homes;
  }

  /** Runs one valid signal; refusals are thrown as MobzRefusal. */
  handle(caller: Caller, name: SignalName, signal: ClientSignal, source: string, originAt: number): Promise<void> {
    switch (name) {
      case 'JOIN':
        return this.#join(caller, signal as ClientSignal<'JOIN'>);
      case 'HEARTBEAT':
        return this.#heartbeat(caller, signal as ClientSignal<'HEARTBEAT'>);
      default:
        return this.#memberSignal(caller, name, signal, source, originAt);
    }
  }

  async #join(caller: Caller, signal: ClientSignal<'JOIN'>): Promise<void> {
    const { rid, ch, ss } = signal;
    const ref: MemberRef = { rid, userId: ss.userId, sessionId: ss.sessionId };
    const creating = signal.op?.roomCreating === true;
    // The window opens before the member exists, so the warden never sees a member without one.
    await this.#store.markAlive(ref);
    let rebound = false;
    const { before, after } = await this.#store.update(rid, (room) => {
      rebound = false;
      const joiner = newMember(ss, signal.ve, signal.ae, caller.address);
      if (!room) {
        if (!creating) throw new MobzRefusal('ROOM_NOT_FOUND', `room ${rid} does not exist`);
        return createRoom(ch, this.#nodeId, joiner);
      }
      if (room.ch !== ch) throw new MobzRefusal('UNSUPPORTED_CHANNEL', `room ${rid} is ${room.ch}, not ${ch}`);
      const existing = findMember(room, ss.userId, ss.sessionId);
      if (existing) {
        existing.at = caller.address;
        rebound = true;
        return room;
      }
      if (creating) throw new MobzRefusal('ALREADY_EXIST_ROOM', `room ${rid} already exists`);
      admit(room, joiner);
      return room;
    });
    const room = after!;
    if (before === null) {
      await this.#store.addHome(this.#nodeId, rid);
      this.#homes?.watch(rid);
    }
    caller.bound(ref);
    const me = findMember(room, ss.userId, ss.sessionId)!;
    caller.reply(this.#joinAck(room, rid, me));
    if (rebound) {
      for (const kept of await this.#store.drainBuffer(ref)) caller.reply(kept);
    } else if (before && ppsText(before) !== ppsText(room)) {
      this.#post.broadcast(room, publishListChanged(room, rid));
    }
  }

  #joinAck(room: Room, rid: string, me: Member): string {
    const servers = this.#ice.iceServers(`mobz-${me.userId}`);
    const is = servers.flatMap((server) => server.urls);
    const body = { pps: publishers(room), rid, pt: me.role, eg: 'native', es: { icfg: { is, servers } } };
    return `{"c":200,"s":"JOIN","b":${JSON.stringify(body)}}`;
  }

  async #heartbeat(caller: Caller, signal: ClientSignal<'HEARTBEAT'>): Promise<void> {
    const room = await this.#store.load(signal.rid);
    const me = this.#sender(caller, 'HEARTBEAT', signal, room);
    await this.#store.markAlive(refOf(signal.rid, me));
    if (signal.send_ack) {
      caller.reply(`{"c":200,"s":"HEARTBEAT","b":{"pps":${ppsText(room!)},"rid":${JSON.stringify(signal.rid)},"bid":${JSON.stringify(signal.bid)}}}`);
    }
  }

  /** The sender's member record, after the checks every signal but JOIN shares. */
  #sender(caller: Caller, name: SignalName, signal: ClientSignal, room: Room | null): Member {
    if (!room) throw new MobzRefusal('ROOM_NOT_FOUND', `room ${signal.rid} does not exist`);
    if (room.ch !== signal.ch) throw new MobzRefusal('UNSUPPORTED_CHANNEL', `room ${signal.rid} is ${room.ch}, not ${signal.ch}`);
    if (!SUPPORTED[name].includes(room.ch)) throw new MobzRefusal('UNSUPPORTED_CHANNEL', `${name} is not supported in ${room.ch} rooms`);
    const me = findMember(room, signal.ss.userId, signal.ss.sessionId);
    if (!me || me.at !== caller.address) {
      throw new MobzRefusal('NOT_ROOM_MEMBER', me ? `${signal.ss.userId}/${signal.ss.sessionId} joined ${signal.rid} on another socket` : `${signal.ss.userId}/${signal.ss.sessionId} is not a member of ${signal.rid}`);
    }
    return me;
  }

  async #memberSignal(caller: Caller, name: SignalName, signal: ClientSignal, source: string, originAt: number): Promise<void> {
    const { rid } = signal;
    const room = await this.#store.load(rid);
    const me = this.#sender(caller, name, signal, room);
    switch (name) {
      case 'LEAVE':
        await this.remove(rid, (m) => m.userId === me.userId && m.sessionId === me.sessionId);
        caller.unbound(refOf(rid, me));
        return;
      case 'UPDATE': {
        if (!isPublisher(me)) throw new MobzRefusal('PERMISSION_NOT_FOUND', 'only publishers send UPDATE');
        const { ve, ae } = signal as ClientSignal<'UPDATE'>;
        await this.#change(rid, (fresh) => {
          const self = findMember(fresh, me.userId, me.sessionId);
          if (!self) throw new MobzRefusal('NOT_ROOM_MEMBER', `${me.userId}/${me.sessionId} is not a member of ${rid}`);
          self.video = ve;
          self.audio = ae;
        });
        return;
      }
      case 'KICK': {
        this.#requireAdmin(me, name);
        const kicked = this.#recipients(room!, (signal as ClientSignal<'KICK'>).to, 'RECIPIENT_NOT_MEMBER');
        const keys = new Set(kicked.map((m) => `${m.userId}\n${m.sessionId}`));
        const removed = await this.remove(rid, (m) => keys.has(`${m.userId}\n${m.sessionId}`));
        for (const member of removed) this.#post.send(refOf(rid, member), member, source, originAt);
        return;
      }
      case 'PUBLISH_REQUEST': {
        if (isPublisher(me)) throw new MobzRefusal('ALREADY_IS_PUBLISHER', `${me.userId}/${me.sessionId} is a publisher already`);
        const owner = admin(room!);
        if (!owner) throw new MobzRefusal('RECIPIENT_NOT_MEMBER', `room ${rid} has no owner to ask`);
        this.#post.send(refOf(rid, owner), owner, source, originAt);
        return;
      }
      case 'PUBLISH_ACCEPT': {
        this.#requireAdmin(me, name);
        const chosen = this.#recipients(room!, (signal as ClientSignal<'PUBLISH_ACCEPT'>).to, 'RECIPIENT_NOT_MEMBER');
        const after = await this.#change(rid, (fresh) => {
          for (const member of chosen) {
            const current = findMember(fresh, member.userId, member.sessionId);
            if (!current) throw new MobzRefusal('RECIPIENT_NOT_MEMBER', `${member.userId}/${member.sessionId} is not a member of ${rid}`);
            promote(fresh, current);
          }
        });
        for (const member of chosen) {
          const current = findMember(after, member.userId, member.sessionId)!;
          this.#post.send(refOf(rid, current), current, source, originAt);
        }
        return;
      }
      case 'PUBLISH_REJECT':
        this.#requireAdmin(me, name);
        return this.#forward(rid, this.#recipients(room!, (signal as ClientSignal<'PUBLISH_REJECT'>).to, 'RECIPIENT_NOT_MEMBER'), source, originAt);
      case 'WATCH':
        return this.#forward(rid, this.#recipients(room!, (signal as ClientSignal<'WATCH'>).to, 'USER_LEFT'), source, originAt);
      case 'OFFER':
      case 'ANSWER':
      case 'ICE': {
        if (name === 'OFFER' && room!.ch !== 'p2p' && !isPublisher(me)) throw new MobzRefusal('PERMISSION_NOT_FOUND', 'only publishers send OFFER');
        const to = (signal as ClientSignal<'OFFER'>).to;
        if (to === undefined && room!.ch !== 'p2p') throw new MobzRefusal('INVALID_SIGNAL', `${name} in a ${room!.ch} room needs "to"`);
        const recipients = to === undefined ? room!.members.filter((m) => m !== me) : this.#recipients(room!, to, 'RECIPIENT_NOT_MEMBER');
        if (recipients.length === 0) throw new MobzRefusal('RECIPIENT_NOT_MEMBER', `nobody else is in ${rid}`);
        return this.#forward(rid, recipients, source, originAt);
      }
    }
  }

  #requireAdmin(me: Member, name: SignalName): void {
    if (me.role !== 'admin') throw new MobzRefusal('PERMISSION_NOT_FOUND', `only the room's admin sends ${name}`);
  }

  #recipients(room: Room, to: ClientSignal<'KICK'>['to'], missing: 'RECIPIENT_NOT_MEMBER' | 'USER_LEFT'): Member[] {
    const found = targets(room, to);
    if (found.length === 0) throw new MobzRefusal(missing, `${JSON.stringify(to)} is not a member`);
    return found;
  }

  #forward(rid: string, recipients: Member[], source: string, originAt: number): void {
    for (const member of recipients) this.#post.send(refOf(rid, member), member, source, originAt);
  }

  /** Changes the room in place (fresh copy per attempt) and tells everyone if the publisher list moved. */
  async #change(rid: string, edit: (room: Room) => void): Promise<Room> {
    const { before, after } = await this.#store.update(rid, (room) => {
      if (!room) throw new MobzRefusal('ROOM_NOT_FOUND', `room ${rid} does not exist`);
      edit(room);
      return room;
    });
    if (ppsText(before!) !== ppsText(after!)) this.#post.broadcast(after!, publishListChanged(after!, rid));
    return after!;
  }

  /**
   * Removes members (LEAVE, KICK, an expired heartbeat window) with everything they held;
   * deletes the room when it empties, and tells the rest if the publisher list moved.
   */
  async remove(rid: string, leaving: (member: Member) => boolean): Promise<Member[]> {
    let removed: Member[] = [];
    const { before, after } = await this.#store.update(rid, (room) => {
      removed = room ? removeMembers(room, leaving) : [];
      if (removed.length === 0) return undefined;
      return room!.members.length > 0 ? room : null;
    });
    await Promise.all(removed.map((member) => this.#store.forget(refOf(rid, member))));
    if (before && after === null) await this.#store.removeHome(before.home, rid);
    if (before && after && ppsText(before) !== ppsText(after)) this.#post.broadcast(after, publishListChanged(after, rid));
    return removed;
  }

  /** The socket at `address` closed: its members stay (buffering) until their windows end. */
  async unbind(ref: MemberRef, address: Address): Promise<void> {
    await this.#store.update(ref.rid, (room) => {
      const member = room && findMember(room, ref.userId, ref.sessionId);
      // A member that already re-joined on a new socket keeps it: this close is late news.
      if (!member || member.at !== address) return undefined;
      member.at = '';
      return room;
    });
  }
}
