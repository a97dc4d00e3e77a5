import { wallClockMs } from '../../core/clock.ts';
import type { Address, MessageRouter } from '../../core/message-router.ts';
import type { DialectMetrics } from '../../ops/metrics.ts';
import type { Logger } from '../../ops/logger.ts';
import type { Member, Room } from './room.ts';
import type { MemberRef, RoomStore } from './room-store.ts';

/**
 * Letters between nodes, addressed to a socket's mailbox:
 *   `s<ref><payload>`  a signal for the member `ref` (kept for it if the socket has gone)
 *   `p<payload>`       a room-wide ack (PUBLISH_LIST_CHANGED) for whoever is on the socket
 *   `n<ref>`           "the member's resume buffer has something": drain it to the socket
 * `<ref>` is rid, userId, sessionId, each length-prefixed.
 */
export type Letter = { kind: 's'; ref: MemberRef; payload: string } | { kind: 'p'; payload: string } | { kind: 'n'; ref: MemberRef };

const part = (text: string) => `${text.length}:${text}`;
const refText = (ref: MemberRef) => `${part(ref.rid)}${part(ref.userId)}${part(ref.sessionId)}`;

export function readLetter(text: string): Letter | undefined {
  const kind = text[0];
  if (kind === 'p') return { kind, payload: text.slice(1) };
  if (kind !== 's' && kind !== 'n') return undefined;
  let i = 1;
  const field = () => {
    const colon = text.indexOf(':', i);
    const length = Number(text.slice(i, colon));
    const value = text.slice(colon + 1, colon + 1 + length);
    i = colon + 1 + length;
    return value;
  };
  const ref = { rid: field(), userId: field(), sessionId: field() };
  return kind === 's' ? { kind, ref, payload: text.slice(i) } : { kind, ref };
}

export const refOf = (rid: string, member: Member): MemberRef => ({ rid, userId: member.userId, sessionId: member.sessionId });

/** Gets signals to members wherever they are: to their socket's node, or into their resume buffer. */
export class MemberPost {
  readonly #router: MessageRouter;
  readonly #store: RoomStore;
  readonly #metrics: DialectMetrics;
  readonly #log: Logger;

  constructor(router: MessageRouter, store: RoomStore, metrics: DialectMetrics, log: Logger) {
    this.#router = router;
    this.#store = store;
    this.#metrics = metrics;
    this.#log = log;
  }

  /** To `member` as its room record last showed it. */
  send(ref: MemberRef, member: Member, payload: string, originAt: number): void {
    if (member.at) this.#router.send(member.at, `s${refText(ref)}${payload}`, originAt);
    else this.keep(ref, payload);
  }

  /**
   * Into the member's resume buffer. If it re-bound while the push was in flight, its new
   * socket may already have drained the buffer, so that socket is told to drain again.
   */
  keep(ref: MemberRef, payload: string): void {
    void this.#keep(ref, payload).catch((error) => this.#log.warn({ err: error, rid: ref.rid }, 'could not buffer a signal for a reconnecting member'));
  }

  async #keep(ref: MemberRef, payload: string): Promise<void> {
    if (!(await this.#store.buffer(ref, payload))) this.#metrics.error('RESUME_BUFFER_FULL');
    const room = await this.#store.load(ref.rid);
    const member = room?.members.find((m) => m.userId === ref.userId && m.sessionId === ref.sessionId);
    if (member?.at) this.#router.send(member.at, `n${refText(ref)}`, wallClockMs());
  }

  /** A room-wide ack to every member with a socket, once per socket. */
  broadcast(room: Room, text: string): void {
    const sent = new Set<Address>();
    const now = wallClockMs();
    for (const member of room.members) {
      if (!member.at || sent.has(member.at)) continue;
      sent.add(member.at);
      this.#router.send(member.at, `p${text}`, now);
    }
  }
}
