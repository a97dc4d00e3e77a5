/**
 * The State contract: small shared records every node sees, with the atomic operations
 * signaling needs. Keys are plain strings; implementations may prefix them.
 *
 * Time-to-live values are in milliseconds; an expired key behaves exactly like an absent one.
 */
export interface State {
  get(key: string): Promise<string | null>;
  /** Without `ttlMs` the key never expires, even if it had a TTL before. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets only if absent; true when this call created the key. */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  /**
   * Compare-and-swap, for records several nodes update (rooms): when the key's value is
   * `expected` (null = absent), sets it to `next` (null = delete) and returns true;
   * otherwise changes nothing and returns false. `ttlMs` as for `set`.
   */
  replace(key: string, expected: string | null, next: string | null, ttlMs?: number): Promise<boolean>;

  /**
   * Locks: a key whose value is its holder's token. `acquire` succeeds when the key is free
   * or already held by `token` (then it also refreshes the TTL). `renew` and `release`
   * act only while `token` still holds the key, so a holder whose lease ran out and was
   * taken over can never clobber the new holder.
   */
  acquire(key: string, token: string, ttlMs: number): Promise<boolean>;
  renew(key: string, token: string, ttlMs: number): Promise<boolean>;
  release(key: string, token: string): Promise<boolean>;

  /** Atomic counter; an absent key counts from 0. Returns the new value; the key keeps its TTL. */
  increment(key: string, by?: number): Promise<number>;

  /** Sets of members (device lists, room rosters). */
  addMember(set: string, member: string): Promise<void>;
  removeMember(set: string, member: string): Promise<boolean>;
  members(set: string): Promise<string[]>;

  /**
   * Bounded FIFO queues (polling clients, resume buffers). `push` appends unless the queue
   * already holds `maxLength` items, and returns false when it dropped the item. `ttlMs`,
   * when given, (re)arms the queue's expiry, even when the item was dropped; without it the
   * queue keeps its current expiry. `drain` returns every item, oldest first, and empties it.
   */
  push(key: string, item: string, maxLength: number, ttlMs?: number): Promise<boolean>;
  drain(key: string): Promise<string[]>;

  readonly healthy: boolean;
  close(): Promise<void>;
}
