import type { NodeLiveness } from '../../core/node-liveness.ts';
import type { Logger } from '../../ops/logger.ts';
import { refOf } from './member-post.ts';
import type { HomeWatch, RoomSignals } from './room-signals.ts';
import type { RoomStore } from './room-store.ts';

/**
 * Ends heartbeat windows. Each room has a home node (its creator's) that watches its
 * members' presence keys and removes the members whose window ran out; a node that finds
 * another home node dead takes its rooms over, so expiry happens on the survivors.
 */
export class RoomWarden implements HomeWatch {
  readonly #nodeId: string;
  readonly #store: RoomStore;
  readonly #signals: RoomSignals;
  readonly #liveness: NodeLiveness;
  readonly #timeoutMs: number;
  readonly #adoptEveryMs: number;
  readonly #log: Logger;
  /** rid → when to look at it next (Date.now() ms). */
  readonly #due = new Map<string, number>();
  readonly #checking = new Set<string>();
  #ticker: NodeJS.Timeout | undefined;
  #adopter: NodeJS.Timeout | undefined;
  #adopting = false;

  constructor(nodeId: string, store: RoomStore, signals: RoomSignals, liveness: NodeLiveness, timeoutMs: number, adoptEveryMs: number, log: Logger) {
    this.#nodeId = nodeId;
    this.#store = store;
    this.#signals = signals;
    this.#liveness = liveness;
    this.#timeoutMs = timeoutMs;
    this.#adoptEveryMs = adoptEveryMs;
    this.#log = log;
  }

  async start(): Promise<void> {
    // A node restarted under the same id finds its rooms again.
    for (const rid of await this.#store.homedBy(this.#nodeId)) this.watch(rid, Date.now());
    const tick = Math.min(1000, Math.max(20, Math.floor(this.#timeoutMs / 10)));
    this.#ticker = setInterval(() => this.#tick(), tick);
    this.#ticker.unref();
    this.#adopter = setInterval(() => void this.#adoptOrphans(), this.#adoptEveryMs);
    this.#adopter.unref();
  }

  stop(): void {
    clearInterval(this.#ticker);
    clearInterval(this.#adopter);
  }

  watch(rid: string, at = Date.now() + this.#timeoutMs): void {
    const current = this.#due.get(rid);
    if (current === undefined || at < current) this.#due.set(rid, at);
  }

  #tick(): void {
    const now = Date.now();
    for (const [rid, at] of this.#due) {
      if (at > now || this.#checking.has(rid)) continue;
      this.#checking.add(rid);
      this.#check(rid)
        .catch((error) => {
          this.#log.warn({ err: error, rid }, 'heartbeat check failed; retrying');
          this.#due.set(rid, Date.now() + this.#timeoutMs / 4);
        })
        .finally(() => this.#checking.delete(rid));
    }
  }

  async #check(rid: string): Promise<void> {
    const room = await this.#store.load(rid);
    if (!room || room.home !== this.#nodeId) {
      this.#due.delete(rid);
      if (!room) await this.#store.removeHome(this.#nodeId, rid);
      return;
    }
    const seen = await Promise.all(room.members.map((member) => this.#store.lastAlive(refOf(rid, member))));
    const expired = new Set(room.members.filter((_, i) => seen[i] === null).map((m) => `${m.userId}\n${m.sessionId}`));
    const alive = seen.filter((at): at is number => at !== null);
    if (expired.size > 0) {
      const removed = await this.#signals.remove(rid, (m) => expired.has(`${m.userId}\n${m.sessionId}`));
      if (removed.length > 0) this.#log.debug({ rid, members: removed.map((m) => m.sessionId) }, 'heartbeat window ended');
    }
    if (alive.length === 0) {
      this.#due.delete(rid);
      return;
    }
    // Checked again when the oldest live window would end, a little after so it has.
    this.#due.set(rid, Math.min(...alive) + this.#timeoutMs + 5);
  }

  /** Takes over the rooms of home nodes whose lease ran out. */
  async #adoptOrphans(): Promise<void> {
    if (this.#adopting) return;
    this.#adopting = true;
    try {
      for (const node of await this.#store.homeNodes()) {
        if (node === this.#nodeId || (await this.#liveness.isAlive(node))) continue;
        for (const rid of await this.#store.homedBy(node)) {
          const { after } = await this.#store.update(rid, (room) => {
            if (!room || room.home !== node) return undefined;
            room.home = this.#nodeId;
            return room;
          });
          if (after?.home === this.#nodeId) {
            await this.#store.addHome(this.#nodeId, rid);
            this.watch(rid, Date.now());
            this.#log.info({ rid, from: node }, 'took over a room of a dead node');
          }
          await this.#store.removeHome(node, rid);
        }
        await this.#store.forgetHomeNode(node);
      }
    } catch (error) {
      this.#log.warn({ err: error }, 'adopting rooms of dead nodes failed');
    } finally {
      this.#adopting = false;
    }
  }
}
