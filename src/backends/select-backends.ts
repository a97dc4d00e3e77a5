import type { Bus } from '../core/bus.ts';
import type { State } from '../core/state.ts';
import { MemoryBus } from './memory/memory-bus.ts';
import { MemoryState } from './memory/memory-state.ts';

export interface Backends {
  bus: Bus;
  state: State;
}

/** Chosen once at start-up: memory for a single node, Redis when `redisUrl` is set. */
export async function selectBackends(redisUrl: string): Promise<Backends> {
  if (!redisUrl) return { bus: new MemoryBus(), state: new MemoryState() };
  // Loaded only for a cluster, so a single node never pulls in the Redis client.
  const [{ RedisBus }, { RedisState }] = await Promise.all([import('./redis/redis-bus.ts'), import('./redis/redis-state.ts')]);
  const [bus, state] = await Promise.all([RedisBus.connect({ url: redisUrl }), RedisState.connect({ url: redisUrl })]);
  return { bus, state };
}
