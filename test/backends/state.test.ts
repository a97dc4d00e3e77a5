import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryState, MemoryStateStore } from '../../src/backends/memory/memory-state.ts';
import { RedisState } from '../../src/backends/redis/redis-state.ts';
import { freePort, startRedis, useRedisServer, type RedisServer } from '../support/redis-server.ts';
import { stateConformance } from './state.conformance.ts';
import { delay, waitFor } from '../support/waiting.ts';

stateConformance('MemoryState', async (nodes) => {
  const store = new MemoryStateStore();
  const states = Array.from({ length: nodes }, () => new MemoryState(store));
  return {
    states,
    teardown: async () => {
      await Promise.all(states.map((state) => state.close()));
    },
  };
});

describe('RedisState', () => {
  const redis = useRedisServer();

  stateConformance('RedisState', async (nodes) => {
    // A prefix per cluster gives each test an empty key space on the shared server.
    const keyPrefix = `test:${randomUUID()}:`;
    const states = await Promise.all(Array.from({ length: nodes }, () => RedisState.connect({ url: redis.url, keyPrefix })));
    return {
      states,
      teardown: async () => {
        await Promise.all(states.map((state) => state.close()));
      },
    };
  });

  it('prefixes keys with sb: by default and keeps prefixes apart', async () => {
    const plain = await RedisState.connect({ url: redis.url });
    const other = await RedisState.connect({ url: redis.url, keyPrefix: 'other:' });
    try {
      await plain.set('k', 'plain');
      await other.set('k', 'other');
      assert.equal(await redis.admin.get('sb:k'), 'plain');
      assert.equal(await redis.admin.get('other:k'), 'other');
      assert.equal(await plain.get('k'), 'plain');
      await plain.addMember('s', 'm');
      assert.deepEqual(await redis.admin.smembers('sb:s'), ['m']);
      await plain.push('q', 'item', 5, 10_000);
      assert.deepEqual(await redis.admin.lrange('sb:q', 0, -1), ['item']);
      await plain.acquire('lock', 'tok', 10_000);
      assert.equal(await redis.admin.get('sb:lock'), 'tok');
    } finally {
      await redis.admin.del('sb:k', 'other:k', 'sb:s', 'sb:q', 'sb:lock');
      await plain.close();
      await other.close();
    }
  });

  it('uses millisecond TTLs on the server', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const state = await RedisState.connect({ url: redis.url, keyPrefix });
    try {
      await state.set('k', 'v', 1_500);
      const pttl = await redis.admin.pttl(`${keyPrefix}k`);
      assert.ok(pttl > 1_000 && pttl <= 1_500, `PTTL ${pttl}`);
      await state.acquire('lock', 'tok', 2_500.2);
      const lockTtl = await redis.admin.pttl(`${keyPrefix}lock`);
      assert.ok(lockTtl > 2_000 && lockTtl <= 2_501, `lock PTTL ${lockTtl}`);
      await state.set('p', 'v');
      assert.equal(await redis.admin.pttl(`${keyPrefix}p`), -1);
    } finally {
      await state.close();
    }
  });

  it('is unhealthy while Redis is down, then works again after a restart (scripts reloaded)', async () => {
    const own = await startRedis();
    let restarted: RedisServer | undefined;
    const state = await RedisState.connect({ url: own.url });
    try {
      assert.equal(await state.acquire('lock', 'tok', 10_000), true);
      await own.stop();
      await waitFor('the state to turn unhealthy', () => !state.healthy);

      restarted = await startRedis({ port: own.port });
      await waitFor('the state to turn healthy', () => state.healthy);
      // The new server has an empty script cache: the scripts must be loaded again.
      assert.equal(await state.acquire('lock', 'tok2', 10_000), true);
      assert.equal(await state.push('q', 'x', 5), true);
      assert.deepEqual(await state.drain('q'), ['x']);
    } finally {
      await state.close();
      await restarted?.stop();
      await own.stop();
    }
  });

  it('closes promptly while Redis is unreachable', async () => {
    const own = await startRedis();
    const state = await RedisState.connect({ url: own.url });
    await own.stop();
    await waitFor('the state to turn unhealthy', () => !state.healthy);
    const started = Date.now();
    await state.close();
    assert.ok(Date.now() - started < 1_000, `close took ${Date.now() - started} ms`);
    assert.equal(state.healthy, false);
  });

  it('connect rejects when nothing listens, within its timeout', async () => {
    const port = await freePort();
    await assert.rejects(RedisState.connect({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 }), /not ready after 300 ms/);
  });
});
