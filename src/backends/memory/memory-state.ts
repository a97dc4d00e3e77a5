import type { State } from '../../core/state.ts';

interface Entry {
  value: string | Set<string> | string[];
  expiresAt: number; // 0 = never
}

/** Key space shared by the MemoryState instances of one process (see MemoryBusHub). */
export class MemoryStateStore {
  readonly entries = new Map<string, Entry>();
}

const SWEEP_INTERVAL_MS = 30_000;

/** The single-node default State. Expired keys are dropped on access and by a sweep. */
export class MemoryState implements State {
  readonly healthy = true;
  #entries: Map<string, Entry>;
  #sweeper: NodeJS.Timeout;

  constructor(store: MemoryStateStore = new MemoryStateStore()) {
    this.#entries = store.entries;
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry && entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) this.#entries.delete(key);
    }
  }

  #string(key: string): string | null {
    const entry = this.#live(key);
    if (!entry) return null;
    if (typeof entry.value !== 'string') throw new TypeError(`State key ${key} does not hold a string`);
    return entry.value;
  }

  async get(key: string): Promise<string | null> {
    return this.#string(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.#entries.set(key, { value, expiresAt: expiry(ttlMs) });
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    if (this.#live(key)) return false;
    this.#entries.set(key, { value, expiresAt: expiry(ttlMs) });
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const existed = this.#live(key) !== undefined;
    this.#entries.delete(key);
    return existed;
  }

  async replace(key: string, expected: string | null, next: string | null, ttlMs?: number): Promise<boolean> {
    if (this.#string(key) !== expected) return false;
    if (next === null) this.#entries.delete(key);
    else this.#entries.set(key, { value: next, expiresAt: expiry(ttlMs) });
    return true;
  }

  async acquire(key: string, token: string, ttlMs: number): Promise<boolean> {
    const holder = this.#string(key);
    if (holder !== null && holder !== token) return false;
    this.#entries.set(key, { value: token, expiresAt: expiry(ttlMs) });
    return true;
  }

  async renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.#string(key) !== token) return false;
    this.#entries.set(key, { value: token, expiresAt: expiry(ttlMs) });
    return true;
  }

  async release(key: string, token: string): Promise<boolean> {
    if (this.#string(key) !== token) return false;
    this.#entries.delete(key);
    return true;
  }

  async increment(key: string, by = 1): Promise<number> {
    const entry = this.#live(key);
    const current = entry ? Number(entry.value) : 0;
    if (!Number.isInteger(current)) throw new TypeError(`State key ${key} does not hold an integer`);
    const next = current + by;
    this.#entries.set(key, { value: String(next), expiresAt: entry?.expiresAt ?? 0 });
    return next;
  }

  #set(key: string, create: boolean): Set<string> | undefined {
    const entry = this.#live(key);
    if (entry) {
      if (!(entry.value instanceof Set)) throw new TypeError(`State key ${key} does not hold a set`);
      return entry.value;
    }
    if (!create) return undefined;
    const members = new Set<string>();
    this.#entries.set(key, { value: members, expiresAt: 0 });
    return members;
  }

  async addMember(set: string, member: string): Promise<void> {
    this.#set(set, true)!.add(member);
  }

  async removeMember(set: string, member: string): Promise<boolean> {
    const members = this.#set(set, false);
    if (!members) return false;
    const removed = members.delete(member);
    if (members.size === 0) this.#entries.delete(set);
    return removed;
  }

  async members(set: string): Promise<string[]> {
    return [...(this.#set(set, false) ?? [])];
  }

  async push(key: string, item: string, maxLength: number, ttlMs?: number): Promise<boolean> {
    let entry = this.#live(key);
    if (!entry) {
      entry = { value: [], expiresAt: 0 };
      this.#entries.set(key, entry);
    }
    if (!Array.isArray(entry.value)) throw new TypeError(`State key ${key} does not hold a queue`);
    if (ttlMs !== undefined) entry.expiresAt = expiry(ttlMs);
    if (entry.value.length >= maxLength) return false;
    entry.value.push(item);
    return true;
  }

  async drain(key: string): Promise<string[]> {
    const entry = this.#live(key);
    if (!entry) return [];
    if (!Array.isArray(entry.value)) throw new TypeError(`State key ${key} does not hold a queue`);
    this.#entries.delete(key);
    return entry.value;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }
}

function expiry(ttlMs: number | undefined): number {
  return ttlMs === undefined ? 0 : Date.now() + ttlMs;
}
