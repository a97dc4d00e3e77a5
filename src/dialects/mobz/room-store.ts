import type { State } from '../../core/state.ts';
import type { Room } from './room.ts';

/** Length-prefixed, so ids containing ":" cannot make two keys collide. */
const part = (text: string) => `${text.length}:${text}`;
const roomKey = (rid: string) => `mobz:room:${part(rid)}`;
const memberPart = (rid: string, userId: string, sessionId: string) => `${part(rid)}${part(userId)}${part(sessionId)}`;
const homeSet = (nodeId: string) => `mobz:homed:${nodeId}`;
const HOME_NODES = 'mobz:home-nodes';

export interface MemberRef {
  rid: string;
  userId: string;
  sessionId: string;
}

export interface RoomChange {
  before: Room | null;
  after: Room | null;
}

/**
 * The mobz dialect's cluster-wide records in State: one JSON record per room (changed only
 * by compare-and-swap, so nodes never overwrite each other), a presence key per member whose
 * TTL is its heartbeat window, a resume buffer per member, and which node homes which rooms.
 */
export class RoomStore {
  readonly #state: State;
  readonly #heartbeatTimeoutMs: number;
  readonly #bufferLength: number;

  constructor(state: State, heartbeatTimeoutMs: number, bufferLength: number) {
    this.#state = state;
    this.#heartbeatTimeoutMs = heartbeatTimeoutMs;
    this.#bufferLength = bufferLength;
  }

  async load(rid: string): Promise<Room | null> {
    const text = await this.#state.get(roomKey(rid));
    return text === null ? null : (JSON.parse(text) as Room);
  }

  /**
   * Read-modify-write until no other node changed the record in between. `change` gets a
   * fresh copy each round; it returns the new room (null deletes it) or undefined to leave
   * the record as it is, and may throw a MobzRefusal.
   */
  async update(rid: string, change: (room: Room | null) => Room | null | undefined): Promise<RoomChange> {
    const key = roomKey(rid);
    for (;;) {
      const text = await this.#state.get(key);
      const before = text === null ? null : (JSON.parse(text) as Room);
      const after = change(text === null ? null : (JSON.parse(text) as Room));
      if (after === undefined) return { before, after: before };
      if (after === null && text === null) return { before, after };
      if (await this.#state.replace(key, text, after === null ? null : JSON.stringify(after))) return { before, after };
    }
  }

  /** (Re)starts the member's heartbeat window. The value is when, for the warden's next check. */
  markAlive(ref: MemberRef, now = Date.now()): Promise<void> {
    return this.#state.set(`mobz:alive:${memberPart(ref.rid, ref.userId, ref.sessionId)}`, String(now), this.#heartbeatTimeoutMs);
  }

  /** When the member last joined or heartbeated, or null once its window has run out. */
  async lastAlive(ref: MemberRef): Promise<number | null> {
    const value = await this.#state.get(`mobz:alive:${memberPart(ref.rid, ref.userId, ref.sessionId)}`);
    return value === null ? null : Number(value);
  }

  /** A removed member's presence and buffer go with it. */
  async forget(ref: MemberRef): Promise<void> {
    const member = memberPart(ref.rid, ref.userId, ref.sessionId);
    await Promise.all([this.#state.delete(`mobz:alive:${member}`), this.#state.delete(`mobz:resume:${member}`)]);
  }

  /** Keeps a signal for a member without a socket; false when its buffer is full. */
  buffer(ref: MemberRef, payload: string): Promise<boolean> {
    return this.#state.push(`mobz:resume:${memberPart(ref.rid, ref.userId, ref.sessionId)}`, payload, this.#bufferLength, this.#heartbeatTimeoutMs * 2);
  }

  drainBuffer(ref: MemberRef): Promise<string[]> {
    return this.#state.drain(`mobz:resume:${memberPart(ref.rid, ref.userId, ref.sessionId)}`);
  }

  async addHome(nodeId: string, rid: string): Promise<void> {
    await Promise.all([this.#state.addMember(homeSet(nodeId), rid), this.#state.addMember(HOME_NODES, nodeId)]);
  }

  async removeHome(nodeId: string, rid: string): Promise<void> {
    await this.#state.removeMember(homeSet(nodeId), rid);
  }

  homedBy(nodeId: string): Promise<string[]> {
    return this.#state.members(homeSet(nodeId));
  }

  homeNodes(): Promise<string[]> {
    return this.#state.members(HOME_NODES);
  }

  /** Drops a node that homes nothing any more from the list survivors check. */
  async forgetHomeNode(nodeId: string): Promise<void> {
    if ((await this.homedBy(nodeId)).length === 0) await this.#state.removeMember(HOME_NODES, nodeId);
  }
}
