import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryBus, MemoryBusHub } from '../../src/backends/memory/memory-bus.ts';
import { RedisBus } from '../../src/backends/redis/redis-bus.ts';
import { freePort, startRedis, useRedisServer, type RedisServer } from '../support/redis-server.ts';
import { busConformance } from './bus.conformance.ts';
import { delay, waitFor } from '../support/waiting.ts';

/** Number of Redis subscribers of `channel`, as the server counts them. */
async function subscriberCount(admin: Redis, channel: string): Promise<number> {
  const reply = (await admin.pubsub('NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

busConformance('MemoryBus', async (nodes) => {
  const hub = new MemoryBusHub();
  const buses = Array.from({ length: nodes }, () => new MemoryBus(hub));
  return {
    buses,
    teardown: async () => {
      await Promise.all(buses.map((bus) => bus.close()));
    },
  };
});

describe('RedisBus', () => {
  const redis = useRedisServer();

  busConformance('RedisBus', async (nodes) => {
    // A prefix per cluster keeps each test's channels apart on the shared server.
    const keyPrefix = `test:${randomUUID()}:`;
    const buses = await Promise.all(Array.from({ length: nodes }, () => RedisBus.connect({ url: redis.url, keyPrefix })));
    return {
      buses,
      teardown: async () => {
        await Promise.all(buses.map((bus) => bus.close()));
      },
    };
  });

  it('prefixes channels with sb: by default and keeps prefixes apart', async () => {
    const plain = await RedisBus.connect({ url: redis.url });
    const other = await RedisBus.connect({ url: redis.url, keyPrefix: 'other:' });
    try {
      const received: string[] = [];
      const foreign: string[] = [];
      await plain.subscribe('prefixed', (message) => received.push(message));
      await other.subscribe('prefixed', (message) => foreign.push(message));
      assert.equal(await subscriberCount(redis.admin, 'sb:prefixed'), 1);
      assert.equal(await subscriberCount(redis.admin, 'other:prefixed'), 1);
      await redis.admin.publish('sb:prefixed', 'raw');
      plain.publish('prefixed', 'from the bus');
      await waitFor('two messages', () => received.length === 2);
      assert.deepEqual(received, ['raw', 'from the bus']);
      assert.deepEqual(foreign, []);
    } finally {
      await plain.close();
      await other.close();
    }
  });

  it('holds one Redis subscription per channel and drops it with the last local handler', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const bus = await RedisBus.connect({ url: redis.url, keyPrefix });
    try {
      const channel = `${keyPrefix}shared`;
      const first = await bus.subscribe('shared', () => {});
      const second = await bus.subscribe('shared', () => {});
      assert.equal(await subscriberCount(redis.admin, channel), 1);
      await first();
      assert.equal(await subscriberCount(redis.admin, channel), 1);
      await second();
      assert.equal(await subscriberCount(redis.admin, channel), 0);
      await bus.subscribe('shared', () => {});
      assert.equal(await subscriberCount(redis.admin, channel), 1);
    } finally {
      await bus.close();
    }
    assert.equal(await subscriberCount(redis.admin, `${keyPrefix}shared`), 0, 'close must drop the subscriptions');
  });

  it('reports a handler exception to onError and still delivers to the other handlers', async () => {
    const errors: unknown[] = [];
    const bus = await RedisBus.connect({ url: redis.url, keyPrefix: `test:${randomUUID()}:`, onError: (e) => errors.push(e) });
    try {
      const received: string[] = [];
      await bus.subscribe('t', () => {
        throw new Error('handler failed');
      });
      await bus.subscribe('t', (message) => received.push(message));
      bus.publish('t', 'one');
      bus.publish('t', 'two');
      await waitFor('both messages', () => received.length === 2);
      assert.deepEqual(received, ['one', 'two']);
      assert.equal(errors.length, 2);
      assert.match(String(errors[0]), /handler failed/);
    } finally {
      await bus.close();
    }
  });

  it('resubscribes after a dropped subscriber connection', async () => {
    const keyPrefix = `test:${randomUUID()}:`;
    const a = await RedisBus.connect({ url: redis.url, keyPrefix });
    const b = await RedisBus.connect({ url: redis.url, keyPrefix });
    try {
      const received: string[] = [];
      await a.subscribe('t', (message) => received.push(message));
      await redis.admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await waitFor('the subscription to come back', async () => (await subscriberCount(redis.admin, `${keyPrefix}t`)) === 1);
      await waitFor('healthy again', () => a.healthy);
      b.publish('t', 'after reconnect');
      await waitFor('the message', () => received.length === 1);
      assert.deepEqual(received, ['after reconnect']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('is unhealthy while Redis is down, then reconnects and resubscribes', async () => {
    const own = await startRedis();
    let restarted: RedisServer | undefined;
    const keyPrefix = 'restart:';
    const a = await RedisBus.connect({ url: own.url, keyPrefix });
    const b = await RedisBus.connect({ url: own.url, keyPrefix });
    try {
      const received: string[] = [];
      await a.subscribe('t', (message) => received.push(message));
      b.publish('t', 'before');
      await waitFor('the first message', () => received.length === 1);

      await own.stop();
      await waitFor('both buses to turn unhealthy', () => !a.healthy && !b.healthy);

      restarted = await startRedis({ port: own.port });
      const probe = new Redis(restarted.url);
      try {
        await waitFor('both buses to turn healthy', () => a.healthy && b.healthy);
        await waitFor('the subscription to come back', async () => (await subscriberCount(probe, 'restart:t')) === 1);
      } finally {
        await probe.quit();
      }
      b.publish('t', 'after');
      await waitFor('the second message', () => received.length === 2);
      assert.deepEqual(received, ['before', 'after']);
    } finally {
      await a.close();
      await b.close();
      await restarted?.stop();
      await own.stop();
    }
  });

  it('closes promptly while Redis is unreachable', async () => {
    const own = await startRedis();
    const bus = await RedisBus.connect({ url: own.url });
    await own.stop();
    await waitFor('the bus to turn unhealthy', () => !bus.healthy);
    bus.publish('t', 'queued while down');
    const started = Date.now();
    await bus.close();
    assert.ok(Date.now() - started < 1_000, `close took ${Date.now() - started} ms`);
    assert.equal(bus.healthy, false);
  });

  it('connect rejects when nothing listens, within its timeout', async () => {
    const port = await freePort();
    const started = Date.now();
    await assert.rejects(RedisBus.connect({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 }), /not ready after 300 ms/);
    assert.ok(Date.now() - started < 3_000);
  });
});
