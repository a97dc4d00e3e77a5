import { Redis } from 'ioredis';
import type { State } from '../../core/state.ts';
import { CONNECTION_OPTIONS, closeConnection, whenReady } from './redis-connection.ts';

export interface RedisStateOptions {
  /** redis:// or rediss:// URL of a standalone (non-cluster) Redis. */
  url: string;
  /** Prepended to every key. Default `sb:`. */
  keyPrefix?: string;
  /** Receives connection errors; without it they are dropped (`healthy` reports the outage). */
  onError?: (error: unknown) => void;
  /** How long `RedisState.connect` waits for the connection. Default 10 000 ms. */
  connectTimeoutMs?: number;
}

// Every read-check-write below runs as one Lua script, so it is atomic on the server.
const SCRIPTS = {
  /** KEYS: lock; ARGV: token, ttlMs. Takes a free lock, or refreshes one `token` holds. */
  sbAcquire: `
    local holder = redis.call('GET', KEYS[1])
    if holder and holder ~= ARGV[1] then return 0 end
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1`,
  /** KEYS: lock; ARGV: token, ttlMs. */
  sbRenew: `
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1`,
  /** KEYS: key; ARGV: hasExpected, expected, hasNext, next, ttlMs or ''. */
  sbReplace: `
    local current = redis.call('GET', KEYS[1])
    if ARGV[1] == '1' then
      if current ~= ARGV[2] then return 0 end
    elseif current then return 0 end
    if ARGV[3] == '0' then redis.call('DEL', KEYS[1])
    elseif ARGV[5] == '' then redis.call('SET', KEYS[1], ARGV[4])
    else redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5]) end
    return 1`,
  /** KEYS: lock; ARGV: token. */
  sbRelease: `
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
    redis.call('DEL', KEYS[1])
    return 1`,
  /** KEYS: queue; ARGV: item, maxLength, ttlMs or ''. The TTL is re-armed even when full. */
  sbPush: `
    local pushed = 0
    if redis.call('LLEN', KEYS[1]) < tonumber(ARGV[2]) then
      redis.call('RPUSH', KEYS[1], ARGV[1])
      pushed = 1
    end
    if ARGV[3] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
    return pushed`,
  /** KEYS: queue. */
  sbDrain: `
    local items = redis.call('LRANGE', KEYS[1], 0, -1)
    redis.call('DEL', KEYS[1])
    return items`,
} as const;

/** The connection with the scripts above registered through `defineCommand` (EVALSHA, EVAL on NOSCRIPT). */
type ScriptedRedis = Redis & {
  sbAcquire(key: string, token: string, ttlMs: number): Promise<number>;
  sbRenew(key: string, token: string, ttlMs: number): Promise<number>;
  sbRelease(key: string, token: string): Promise<number>;
  sbReplace(key: string, hasExpected: '0' | '1', expected: string, hasNext: '0' | '1', next: string, ttlMs: number | ''): Promise<number>;
  sbPush(key: string, item: string, maxLength: number, ttlMs: number | ''): Promise<number>;
  sbDrain(key: string): Promise<string[]>;
};

/**
 * State over one Redis connection. Strings hold plain values, locks and counters; Redis
 * sets hold member sets; Redis lists hold the bounded queues. TTLs use millisecond
 * precision (PX/PEXPIRE); a fractional TTL is rounded up, and one below 1 ms counts as 1 ms.
 * INCRBY leaves a key's TTL untouched, as the contract asks.
 */
export class RedisState implements State {
  #redis: ScriptedRedis;
  #prefix: string;
  #connectTimeoutMs: number;
  #closed = false;

  /** Starts connecting at once; use `RedisState.connect` to wait until the connection is ready. */
  constructor(options: RedisStateOptions) {
    this.#prefix = options.keyPrefix ?? 'sb:';
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const redis = new Redis(options.url, { ...CONNECTION_OPTIONS, connectionName: 'switchboard-state' });
    redis.on('error', (error: Error) => options.onError?.(error));
    for (const [name, lua] of Object.entries(SCRIPTS)) redis.defineCommand(name, { lua, numberOfKeys: 1 });
    this.#redis = redis as ScriptedRedis;
  }

  /** Creates a state client and resolves once it is ready (rejects, closed, on timeout). */
  static async connect(options: RedisStateOptions): Promise<RedisState> {
    const state = new RedisState(options);
    try {
      await state.ready();
    } catch (error) {
      await state.close();
      throw error;
    }
    return state;
  }

  /** Resolves once the connection is ready; rejects after the connect timeout. */
  ready(): Promise<void> {
    return whenReady(this.#redis, this.#connectTimeoutMs);
  }

  get healthy(): boolean {
    return !this.#closed && this.#redis.status === 'ready';
  }

  #key(key: string): string {
    return this.#prefix + key;
  }

  async get(key: string): Promise<string | null> {
    return this.#redis.get(this.#key(key));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.#redis.set(this.#key(key), value);
    else await this.#redis.set(this.#key(key), value, 'PX', px(ttlMs));
  }

  async setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean> {
    const reply =
      ttlMs === undefined
        ? await this.#redis.set(this.#key(key), value, 'NX')
        : await this.#redis.set(this.#key(key), value, 'PX', px(ttlMs), 'NX');
    return reply === 'OK';
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#redis.del(this.#key(key))) > 0;
  }

  async replace(key: string, expected: string | null, next: string | null, ttlMs?: number): Promise<boolean> {
    const reply = await this.#redis.sbReplace(
      this.#key(key),
      expected === null ? '0' : '1',
      expected ?? '',
      next === null ? '0' : '1',
      next ?? '',
      ttlMs === undefined ? '' : px(ttlMs),
    );
    return reply === 1;
  }

  async acquire(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.sbAcquire(this.#key(key), token, px(ttlMs))) === 1;
  }

  async renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.sbRenew(this.#key(key), token, px(ttlMs))) === 1;
  }

  async release(key: string, token: string): Promise<boolean> {
    return (await this.#redis.sbRelease(this.#key(key), token)) === 1;
  }

  async increment(key: string, by = 1): Promise<number> {
    return this.#redis.incrby(this.#key(key), by);
  }

  async addMember(set: string, member: string): Promise<void> {
    await this.#redis.sadd(this.#key(set), member);
  }

  async removeMember(set: string, member: string): Promise<boolean> {
    return (await this.#redis.srem(this.#key(set), member)) > 0;
  }

  async members(set: string): Promise<string[]> {
    return this.#redis.smembers(this.#key(set));
  }

  async push(key: string, item: string, maxLength: number, ttlMs?: number): Promise<boolean> {
    const ttl = ttlMs === undefined ? '' : px(ttlMs);
    return (await this.#redis.sbPush(this.#key(key), item, maxLength, ttl)) === 1;
  }

  async drain(key: string): Promise<string[]> {
    return this.#redis.sbDrain(this.#key(key));
  }

  /** Waits for pending replies, then closes the connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeConnection(this.#redis);
  }
}

/** Whole milliseconds, at least 1 (Redis refuses PX 0). */
function px(ttlMs: number): number {
  if (!Number.isFinite(ttlMs)) throw new RangeError(`TTL must be a finite number of ms, got ${ttlMs}`);
  return Math.max(1, Math.ceil(ttlMs));
}
