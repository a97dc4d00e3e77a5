import type { Address } from '../../core/message-router.ts';
import { MobzRefusal } from './errors.ts';
import type { Channel, Publisher, Session, Target } from './schemas.ts';

/**
 * A room as stored in State (one JSON record per room, updated by compare-and-swap), and
 * the pure rules that change it. No I/O here: room-store.ts reads and writes records,
 * room-signals.ts decides what to tell whom.
 */
export type Role = 'admin' | 'publisher' | 'viewer';

export interface Member {
  userId: string;
  sessionId: string;
  role: Role;
  video: boolean;
  audio: boolean;
  host: string;
  category: string;
  deviceId: string;
  username?: string;
  fullname?: string;
  avatar?: string;
  /** Address of the socket the member is bound to; "" while it has none (reconnecting). */
  at: Address;
  /** Join order: the oldest publisher owns the room. */
  order: number;
}

export interface Room {
  ch: Channel;
  /** The node that watches the room's heartbeat windows (taken over if it dies). */
  home: string;
  next: number;
  members: Member[];
}

export const PUBLISHER_SLOTS: Readonly<Record<Channel, number>> = { p2p: 2, m2m: 9, a2m: 9, p2m: 1 };
const HAS_VIEWERS: Readonly<Record<Channel, boolean>> = { p2p: false, m2m: true, a2m: true, p2m: true };

export const isPublisher = (member: Member): boolean => member.role !== 'viewer';

export function findMember(room: Room, userId: string, sessionId: string): Member | undefined {
  return room.members.find((m) => m.userId === userId && m.sessionId === sessionId);
}

export function newMember(ss: Session, video: boolean, audio: boolean, at: Address): Member {
  const member: Member = {
    userId: ss.userId,
    sessionId: ss.sessionId,
    role: 'viewer',
    video,
    audio,
    host: ss.host ?? '',
    category: ss.category ?? '',
    deviceId: ss.deviceId ?? '',
    at,
    order: 0,
  };
  if (ss.username !== undefined) member.username = ss.username;
  if (ss.fullname !== undefined) member.fullname = ss.fullname;
  if (ss.avatar !== undefined) member.avatar = ss.avatar;
  return member;
}

export function createRoom(ch: Channel, home: string, creator: Member): Room {
  creator.role = 'admin';
  creator.order = 1;
  return { ch, home, next: 2, members: [creator] };
}

/** Adds a new member as publisher while the channel has a slot, else as viewer. */
export function admit(room: Room, member: Member): void {
  if (room.members.filter(isPublisher).length < PUBLISHER_SLOTS[room.ch]) {
    member.role = room.members.some((m) => m.role === 'admin') ? 'publisher' : 'admin';
  } else if (HAS_VIEWERS[room.ch]) {
    member.role = 'viewer';
  } else {
    throw new MobzRefusal('ROOM_FULL', `${room.ch} room has no free slot`);
  }
  member.order = room.next++;
  room.members.push(member);
}

export function promote(room: Room, member: Member): void {
  if (isPublisher(member)) throw new MobzRefusal('ALREADY_IS_PUBLISHER', `${member.userId}/${member.sessionId} is a publisher already`);
  if (room.members.filter(isPublisher).length >= PUBLISHER_SLOTS[room.ch]) {
    throw new MobzRefusal('ROOM_FULL', `${room.ch} room has ${PUBLISHER_SLOTS[room.ch]} publishers`);
  }
  member.role = room.members.some((m) => m.role === 'admin') ? 'publisher' : 'admin';
}

/** Removes the members `leaving` selects; the oldest remaining publisher becomes admin when the admin went. */
export function removeMembers(room: Room, leaving: (member: Member) => boolean): Member[] {
  const removed = room.members.filter(leaving);
  if (removed.length === 0) return removed;
  room.members = room.members.filter((m) => !leaving(m));
  if (!room.members.some((m) => m.role === 'admin')) {
    const heir = room.members.filter(isPublisher).sort((a, b) => a.order - b.order)[0];
    if (heir) heir.role = 'admin';
  }
  return removed;
}

export function admin(room: Room): Member | undefined {
  return room.members.find((m) => m.role === 'admin');
}

/** Members a `to` names: a userId string (all its sessions) or {userId, sessionId?}. */
export function targets(room: Room, to: Target): Member[] {
  const userId = typeof to === 'string' ? to : to.userId;
  const sessionId = typeof to === 'string' ? undefined : to.sessionId;
  return room.members.filter((m) => m.userId === userId && (sessionId === undefined || m.sessionId === sessionId));
}

/** The `pps` list: publishers only, oldest first, one shape everywhere. */
export function publishers(room: Room): Publisher[] {
  return room.members
    .filter(isPublisher)
    .sort((a, b) => a.order - b.order)
    .map((m) => {
      const entry: Publisher = {
        id: m.sessionId,
        userId: m.userId,
        sessionId: m.sessionId,
        role: m.role,
        video: m.video,
        audio: m.audio,
        publish: true,
        host: m.host,
        category: m.category,
        deviceId: m.deviceId,
      };
      if (m.username !== undefined) entry.username = m.username;
      if (m.fullname !== undefined) entry.fullname = m.fullname;
      if (m.avatar !== undefined) entry.avatar = m.avatar;
      return entry;
    });
}
