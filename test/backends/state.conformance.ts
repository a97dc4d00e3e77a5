import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { State } from '../../src/core/state.ts';
import { delay } from '../support/waiting.ts';

/** N State instances that behave as N nodes sharing one backend, and how to dispose of them. */
export interface StateCluster {
  states: State[];
  /** Closes every instance and releases the backend resources of this cluster. */
  teardown(): Promise<void>;
}

/** Called once per test with the number of nodes the test needs; each call is isolated. */
export type StateClusterFactory = (nodes: number) => Promise<StateCluster>;

const sorted = (items: string[]): string[] => [...items].sort();

/**
 * The State conformance suite: every State implementation must pass it. `factory` builds a
 * fresh, empty key space for each test; the suite tears it down.
 */
export function stateConformance(name: string, factory: StateClusterFactory): void {
  async function withCluster(nodes: number, body: (states: State[]) => Promise<void>): Promise<void> {
    const cluster = await factory(nodes);
    assert.equal(cluster.states.length, nodes, 'factory returned the wrong number of states');
    try {
      await body(cluster.states);
    } finally {
      await cluster.teardown();
    }
  }

  describe(`State conformance: ${name}`, () => {
    it('is healthy once created', async () => {
      await withCluster(2, async (states) => {
        for (const state of states) assert.equal(state.healthy, true);
      });
    });

    describe('get / set / delete', () => {
      it('reads null for an absent key', async () => {
        await withCluster(1, async ([a]) => {
          assert.equal(await a!.get('absent'), null);
        });
      });

      it('sets, overwrites and deletes, visible from every instance', async () => {
        await withCluster(2, async ([a, b]) => {
          await a!.set('k', 'v1');
          assert.equal(await b!.get('k'), 'v1');
          await b!.set('k', 'v2');
          assert.equal(await a!.get('k'), 'v2');
          assert.equal(await a!.delete('k'), true);
          assert.equal(await b!.get('k'), null);
          assert.equal(await b!.delete('k'), false);
        });
      });

      it('keeps keys apart and stores the empty string', async () => {
        await withCluster(1, async ([a]) => {
          await a!.set('k1', '');
          await a!.set('k2', 'two');
          assert.equal(await a!.get('k1'), '');
          assert.equal(await a!.get('k2'), 'two');
          assert.equal(await a!.get('k3'), null);
        });
      });

      it('round-trips unicode keys and values, and a 1 MiB value', async () => {
        await withCluster(2, async ([a, b]) => {
          const value = 'héllo 中文 👩‍👩‍👧 e\u0301 עברית nul\u0000 \r\n';
          await a!.set('clé:🔑', value);
          assert.equal(await b!.get('clé:🔑'), value);
          const large = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(30_000).slice(0, 1024 * 1024);
          await a!.set('large', large);
          const back = await b!.get('large');
          assert.equal(back?.length, 1024 * 1024);
          assert.ok(back === large, '1 MiB value came back altered');
        });
      });
    });

    describe('time to live', () => {
      it('expires a key after its TTL, on every instance', async () => {
        await withCluster(2, async ([a, b]) => {
          await a!.set('ttl', 'v', 100);
          assert.equal(await b!.get('ttl'), 'v');
          await delay(200);
          assert.equal(await a!.get('ttl'), null);
          assert.equal(await b!.get('ttl'), null);
        });
      });

      it('treats an expired key as absent for delete and setIfAbsent', async () => {
        await withCluster(2, async ([a, b]) => {
          await a!.set('gone', 'v', 50);
          await a!.set('gone2', 'v', 50);
          await delay(120);
          assert.equal(await b!.delete('gone'), false);
          assert.equal(await b!.setIfAbsent('gone2', 'new'), true);
          assert.equal(await a!.get('gone2'), 'new');
        });
      });

      it('set without a TTL makes the key persistent again', async () => {
        await withCluster(1, async ([a]) => {
          await a!.set('k', 'short', 80);
          await a!.set('k', 'forever');
          await delay(160);
          assert.equal(await a!.get('k'), 'forever');
        });
      });

      it('set with a TTL replaces the previous TTL', async () => {
        await withCluster(1, async ([a]) => {
          await a!.set('k', 'v1', 60);
          await a!.set('k', 'v2', 400);
          await delay(150);
          assert.equal(await a!.get('k'), 'v2');
        });
      });
    });

    describe('setIfAbsent', () => {
      it('creates only when absent', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.setIfAbsent('k', 'first'), true);
          assert.equal(await b!.setIfAbsent('k', 'second'), false);
          assert.equal(await b!.get('k'), 'first');
        });
      });

      it('honours its TTL', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.setIfAbsent('k', 'first', 80), true);
          assert.equal(await b!.setIfAbsent('k', 'second', 80), false);
          await delay(160);
          assert.equal(await a!.get('k'), null);
          assert.equal(await b!.setIfAbsent('k', 'third', 80), true);
          assert.equal(await a!.get('k'), 'third');
        });
      });

      it('lets exactly one of 20 concurrent attempts from 2 instances win', async () => {
        await withCluster(2, async ([a, b]) => {
          const attempts = Array.from({ length: 20 }, (_, i) => (i % 2 ? a! : b!).setIfAbsent('race', `v${i}`, 5_000));
          const results = await Promise.all(attempts);
          const winners = results.flatMap((won, i) => (won ? [i] : []));
          assert.equal(winners.length, 1, `winners: ${winners.join(', ')}`);
          assert.equal(await a!.get('race'), `v${winners[0]}`);
        });
      });
    });

    describe('replace (compare-and-swap)', () => {
      it('creates from absent, swaps on a match, refuses on a mismatch, deletes with null', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.replace('rec', 'x', 'y'), false, 'absent is not "x"');
          assert.equal(await a!.get('rec'), null);
          assert.equal(await a!.replace('rec', null, 'v1'), true);
          assert.equal(await b!.replace('rec', null, 'other'), false, 'present is not absent');
          assert.equal(await b!.replace('rec', 'v0', 'v2'), false);
          assert.equal(await b!.get('rec'), 'v1');
          assert.equal(await b!.replace('rec', 'v1', 'v2'), true);
          assert.equal(await a!.get('rec'), 'v2');
          assert.equal(await a!.replace('rec', 'v2', null), true);
          assert.equal(await b!.get('rec'), null);
          assert.equal(await a!.replace('', null, ''), true, 'empty key and empty value are values');
          assert.equal(await b!.replace('', '', 'e'), true);
        });
      });

      it('sets the TTL it is given, and none without one', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.replace('t', null, 'short', 80), true);
          assert.equal(await b!.replace('p', null, 'p1', 80), true);
          assert.equal(await b!.replace('p', 'p1', 'p2'), true);
          await delay(160);
          assert.equal(await b!.get('t'), null, 'expired');
          assert.equal(await a!.get('p'), 'p2', 'a replace without TTL made it persistent');
          assert.equal(await a!.replace('t', null, 'again'), true, 'an expired key counts as absent');
        });
      });

      it('lets concurrent read-modify-write loops from 2 instances lose no update', async () => {
        await withCluster(2, async ([a, b]) => {
          const bump = async (state: State) => {
            for (;;) {
              const current = await state.get('counter');
              if (await state.replace('counter', current, String(Number(current ?? '0') + 1))) return;
            }
          };
          await Promise.all(Array.from({ length: 40 }, (_, i) => bump(i % 2 ? a! : b!)));
          assert.equal(await a!.get('counter'), '40');
        });
      });
    });

    describe('locks', () => {
      it('acquire / renew / release follow the holder token', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.acquire('lock', 'tokA', 5_000), true);
          assert.equal(await b!.get('lock'), 'tokA', 'the lock value is the holder token');
          assert.equal(await b!.acquire('lock', 'tokB', 5_000), false);
          assert.equal(await a!.acquire('lock', 'tokA', 5_000), true, 'the holder may acquire again');
          assert.equal(await b!.renew('lock', 'tokB', 5_000), false);
          assert.equal(await a!.renew('lock', 'tokA', 5_000), true);
          assert.equal(await b!.release('lock', 'tokB'), false);
          assert.equal(await b!.get('lock'), 'tokA', 'a failed release must leave the lock alone');
          assert.equal(await a!.release('lock', 'tokA'), true);
          assert.equal(await a!.get('lock'), null);
          assert.equal(await a!.release('lock', 'tokA'), false);
          assert.equal(await a!.renew('lock', 'tokA', 5_000), false, 'renew must not recreate a released lock');
          assert.equal(await a!.get('lock'), null);
          assert.equal(await b!.acquire('lock', 'tokB', 5_000), true);
        });
      });

      it('frees a lock when its TTL runs out', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.acquire('lock', 'tokA', 60), true);
          await delay(130);
          assert.equal(await a!.get('lock'), null);
          assert.equal(await b!.acquire('lock', 'tokB', 5_000), true);
        });
      });

      it('a re-acquire by the holder refreshes the TTL', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.acquire('lock', 'tokA', 120), true);
          await delay(70);
          assert.equal(await a!.acquire('lock', 'tokA', 150), true);
          await delay(80);
          assert.equal(await b!.acquire('lock', 'tokB', 5_000), false, 'the refreshed lease ended too early');
          await delay(150);
          assert.equal(await b!.acquire('lock', 'tokB', 5_000), true, 'the refreshed lease never ended');
        });
      });

      it('renew extends the lease', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.acquire('lock', 'tokA', 120), true);
          await delay(70);
          assert.equal(await a!.renew('lock', 'tokA', 150), true);
          await delay(80);
          assert.equal(await b!.get('lock'), 'tokA', 'the renewed lease ended too early');
          await delay(150);
          assert.equal(await b!.get('lock'), null, 'the renewed lease never ended');
        });
      });

      it('a stale holder cannot renew, release or re-acquire the new holder’s lock', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.acquire('lock', 'stale', 50), true);
          await delay(120);
          assert.equal(await b!.acquire('lock', 'fresh', 5_000), true);
          assert.equal(await a!.renew('lock', 'stale', 5_000), false);
          assert.equal(await a!.release('lock', 'stale'), false);
          assert.equal(await a!.acquire('lock', 'stale', 5_000), false);
          assert.equal(await a!.get('lock'), 'fresh');
          assert.equal(await b!.renew('lock', 'fresh', 5_000), true);
          assert.equal(await b!.release('lock', 'fresh'), true);
        });
      });

      it('a stale holder cannot renew after expiry even when nobody took over', async () => {
        await withCluster(1, async ([a]) => {
          assert.equal(await a!.acquire('lock', 'tokA', 50), true);
          await delay(120);
          assert.equal(await a!.renew('lock', 'tokA', 5_000), false);
          assert.equal(await a!.get('lock'), null);
        });
      });

      it('lets exactly one of 20 concurrent acquires from 2 instances win', async () => {
        await withCluster(2, async ([a, b]) => {
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => (i % 2 ? a! : b!).acquire('lock', `tok${i}`, 5_000)),
          );
          const winners = results.flatMap((won, i) => (won ? [i] : []));
          assert.equal(winners.length, 1, `winners: ${winners.join(', ')}`);
          assert.equal(await b!.get('lock'), `tok${winners[0]}`);
        });
      });
    });

    describe('increment', () => {
      it('counts from 0, by 1 or by a given step, and reads back as a string', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.increment('n'), 1);
          assert.equal(await b!.increment('n', 5), 6);
          assert.equal(await a!.increment('n', -2), 4);
          assert.equal(await b!.get('n'), '4');
          await a!.set('m', '41');
          assert.equal(await b!.increment('m'), 42);
        });
      });

      it('100 concurrent increments from 2 instances add up to 100, each seeing its own value', async () => {
        await withCluster(2, async ([a, b]) => {
          const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a! : b!).increment('n')));
          assert.equal(await a!.get('n'), '100');
          assert.deepEqual(
            [...results].sort((x, y) => x - y),
            Array.from({ length: 100 }, (_, i) => i + 1),
          );
        });
      });

      it('keeps the TTL of the key it increments', async () => {
        await withCluster(2, async ([a, b]) => {
          await a!.set('n', '5', 100);
          assert.equal(await b!.increment('n'), 6);
          assert.equal(await a!.get('n'), '6');
          await delay(200);
          assert.equal(await b!.get('n'), null, 'increment made the key persistent');
          assert.equal(await a!.increment('n'), 1, 'an expired counter counts from 0');
        });
      });
    });

    describe('sets', () => {
      it('adds, lists and removes members across instances', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.deepEqual(await a!.members('s'), []);
          await a!.addMember('s', 'alice');
          await b!.addMember('s', 'bob');
          await a!.addMember('s', 'alice');
          await b!.addMember('s', 'zoë 🚲');
          assert.deepEqual(sorted(await b!.members('s')), sorted(['alice', 'bob', 'zoë 🚲']));
          assert.equal(await a!.removeMember('s', 'bob'), true);
          assert.equal(await b!.removeMember('s', 'bob'), false);
          assert.equal(await b!.removeMember('s', 'nobody'), false);
          assert.deepEqual(sorted(await a!.members('s')), sorted(['alice', 'zoë 🚲']));
          assert.equal(await a!.removeMember('s', 'alice'), true);
          assert.equal(await a!.removeMember('s', 'zoë 🚲'), true);
          assert.deepEqual(await b!.members('s'), []);
          assert.equal(await b!.removeMember('absent-set', 'x'), false);
        });
      });

      it('keeps sets apart and loses no concurrent adds', async () => {
        await withCluster(2, async ([a, b]) => {
          await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a! : b!).addMember('s1', `m${i}`)));
          await a!.addMember('s2', 'other');
          const members = await b!.members('s1');
          assert.equal(members.length, 50);
          assert.deepEqual(sorted(members), sorted(Array.from({ length: 50 }, (_, i) => `m${i}`)));
          assert.deepEqual(await b!.members('s2'), ['other']);
        });
      });
    });

    describe('queues', () => {
      it('pushes up to maxLength, then refuses; drain returns the items in order, then nothing', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.push('q', 'one', 3), true);
          assert.equal(await b!.push('q', 'two', 3), true);
          assert.equal(await a!.push('q', 'three', 3), true);
          assert.equal(await b!.push('q', 'four', 3), false, 'a full queue must refuse');
          assert.deepEqual(await b!.drain('q'), ['one', 'two', 'three']);
          assert.deepEqual(await a!.drain('q'), []);
          assert.equal(await a!.push('q', 'again', 3), true, 'a drained queue accepts again');
          assert.deepEqual(await a!.drain('q'), ['again']);
          assert.deepEqual(await a!.drain('never-used'), []);
        });
      });

      it('keeps the order of many pushes and unicode items', async () => {
        await withCluster(1, async ([a]) => {
          const items = Array.from({ length: 200 }, (_, i) => `${i} ✉️ ünï`);
          for (const item of items) assert.equal(await a!.push('q', item, 1000), true);
          assert.deepEqual(await a!.drain('q'), items);
        });
      });

      it('admits exactly maxLength of 20 concurrent pushes from 2 instances', async () => {
        await withCluster(2, async ([a, b]) => {
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => (i % 2 ? a! : b!).push('q', `item${i}`, 5)),
          );
          const accepted = results.flatMap((ok, i) => (ok ? [`item${i}`] : []));
          assert.equal(accepted.length, 5);
          assert.deepEqual(sorted(await a!.drain('q')), sorted(accepted));
        });
      });

      it('gives each item to exactly one of 2 concurrent drains', async () => {
        await withCluster(2, async ([a, b]) => {
          const items = Array.from({ length: 50 }, (_, i) => `i${i}`);
          for (const item of items) await a!.push('q', item, 100);
          const [fromA, fromB] = await Promise.all([a!.drain('q'), b!.drain('q')]);
          assert.ok(fromA.length === 0 || fromB.length === 0, 'a drain returned part of the queue');
          assert.deepEqual([...fromA, ...fromB], items);
        });
      });

      it('expires a queue after its TTL', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.push('q', 'x', 10, 80), true);
          await delay(160);
          assert.deepEqual(await b!.drain('q'), []);
        });
      });

      it('re-arms the TTL on every push, even a refused one', async () => {
        await withCluster(2, async ([a, b]) => {
          assert.equal(await a!.push('q', 'x', 2, 200), true);
          await delay(120);
          assert.equal(await b!.push('q', 'y', 2, 200), true);
          await delay(120);
          assert.equal(await a!.push('q', 'z', 2, 200), false);
          await delay(120);
          assert.deepEqual(await b!.drain('q'), ['x', 'y'], 'the queue expired despite the pushes');
          assert.equal(await a!.push('q2', 'x', 5, 60), true);
          await delay(130);
          assert.deepEqual(await a!.drain('q2'), []);
        });
      });

      it('a push without TTL keeps the queue’s existing expiry', async () => {
        await withCluster(1, async ([a]) => {
          assert.equal(await a!.push('q', 'x', 5, 80), true);
          assert.equal(await a!.push('q', 'y', 5), true);
          await delay(160);
          assert.deepEqual(await a!.drain('q'), []);
        });
      });
    });
  });
}
