import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Bus, BusHandler } from '../../src/core/bus.ts';
import { delay, waitFor } from '../support/waiting.ts';

/** N Bus instances that behave as N nodes sharing one backend, and how to dispose of them. */
export interface BusCluster {
  buses: Bus[];
  /** Closes every instance and releases the backend resources of this cluster. */
  teardown(): Promise<void>;
}

/** Called once per test with the number of nodes the test needs; each call is isolated. */
export type BusClusterFactory = (nodes: number) => Promise<BusCluster>;

/** Records what a subscription receives. */
class Inbox {
  readonly messages: string[] = [];
  readonly handler: BusHandler = (message) => {
    this.messages.push(message);
  };
  readonly name: string;
  constructor(name = 'inbox') {
    this.name = name;
  }
  async waitFor(count: number, timeoutMs = 5_000): Promise<void> {
    await waitFor(`${this.name} to hold ${count} messages (has ${this.messages.length})`, () => this.messages.length >= count, timeoutMs);
  }
}

let topicCounter = 0;
/** Topic names unique within the process, so tests never see each other's traffic. */
const topic = (label: string): string => `conf:${process.pid}:${++topicCounter}:${label}`;

/**
 * Publishes a marker on a fresh topic from `publisher` and waits until `receiver` gets it.
 * By the per-publisher ordering rule, everything `publisher` published before has then
 * reached `receiver` too, so a message still missing will never come.
 */
async function flush(publisher: Bus, receiver: Bus): Promise<void> {
  const marker = topic('flush');
  const inbox = new Inbox('flush marker');
  const unsubscribe = await receiver.subscribe(marker, inbox.handler);
  publisher.publish(marker, 'flush');
  await inbox.waitFor(1);
  await unsubscribe();
}

/**
 * The Bus conformance suite: every Bus implementation must pass it. `factory` builds a
 * fresh set of instances for each test; the suite tears them down.
 */
export function busConformance(name: string, factory: BusClusterFactory): void {
  async function withCluster(nodes: number, body: (buses: Bus[]) => Promise<void>): Promise<void> {
    const cluster = await factory(nodes);
    assert.equal(cluster.buses.length, nodes, 'factory returned the wrong number of buses');
    try {
      await body(cluster.buses);
    } finally {
      await cluster.teardown();
    }
  }

  describe(`Bus conformance: ${name}`, () => {
    it('is healthy once created', async () => {
      await withCluster(2, async (buses) => {
        for (const bus of buses) assert.equal(bus.healthy, true);
      });
    });

    it('delivers to a subscriber on another instance as soon as subscribe resolved', async () => {
      await withCluster(2, async ([a, b]) => {
        const t = topic('cross');
        const inbox = new Inbox();
        await a!.subscribe(t, inbox.handler);
        b!.publish(t, 'hello');
        await inbox.waitFor(1);
        assert.deepEqual(inbox.messages, ['hello']);
      });
    });

    it('delivers to a subscriber on the publishing instance too', async () => {
      await withCluster(1, async ([a]) => {
        const t = topic('self');
        const inbox = new Inbox();
        await a!.subscribe(t, inbox.handler);
        a!.publish(t, 'to myself');
        await inbox.waitFor(1);
        assert.deepEqual(inbox.messages, ['to myself']);
      });
    });

    it('does not deliver a topic to subscribers of another topic', async () => {
      await withCluster(2, async ([a, b]) => {
        const t1 = topic('one');
        const t2 = topic('two');
        const one = new Inbox('one');
        const two = new Inbox('two');
        await a!.subscribe(t1, one.handler);
        await a!.subscribe(t2, two.handler);
        b!.publish(t1, 'for one');
        b!.publish(t2, 'for two');
        await one.waitFor(1);
        await two.waitFor(1);
        await flush(b!, a!);
        assert.deepEqual(one.messages, ['for one']);
        assert.deepEqual(two.messages, ['for two']);
      });
    });

    it('publishing to a topic nobody subscribed to is not an error', async () => {
      await withCluster(2, async ([a, b]) => {
        assert.doesNotThrow(() => a!.publish(topic('nobody'), 'into the void'));
        await flush(a!, b!);
        assert.equal(a!.healthy, true);
      });
    });

    it('fans out each message exactly once to every subscriber on every instance', async () => {
      await withCluster(3, async ([a, b, c]) => {
        const t = topic('fanout');
        const inboxes = [new Inbox('a1'), new Inbox('a2'), new Inbox('b'), new Inbox('c (publisher)')];
        await a!.subscribe(t, inboxes[0]!.handler);
        await a!.subscribe(t, inboxes[1]!.handler);
        await b!.subscribe(t, inboxes[2]!.handler);
        await c!.subscribe(t, inboxes[3]!.handler);
        c!.publish(t, 'm1');
        c!.publish(t, 'm2');
        for (const inbox of inboxes) await inbox.waitFor(2);
        await flush(c!, a!);
        await flush(c!, b!);
        for (const inbox of inboxes) assert.deepEqual(inbox.messages, ['m1', 'm2'], inbox.name);
      });
    });

    it('counts the same handler subscribed twice as two subscriptions', async () => {
      await withCluster(2, async ([a, b]) => {
        const t = topic('twice');
        const inbox = new Inbox();
        const first = await a!.subscribe(t, inbox.handler);
        await a!.subscribe(t, inbox.handler);
        b!.publish(t, 'x');
        await inbox.waitFor(2);
        await flush(b!, a!);
        assert.deepEqual(inbox.messages, ['x', 'x']);
        await first();
        b!.publish(t, 'y');
        await inbox.waitFor(3);
        await flush(b!, a!);
        assert.deepEqual(inbox.messages, ['x', 'x', 'y']);
      });
    });

    it('stops delivering after unsubscribe, one subscription at a time', async () => {
      await withCluster(2, async ([a, b]) => {
        const t = topic('unsub');
        const first = new Inbox('first');
        const second = new Inbox('second');
        const remote = new Inbox('remote');
        const unsubscribeFirst = await a!.subscribe(t, first.handler);
        const unsubscribeSecond = await a!.subscribe(t, second.handler);
        await b!.subscribe(t, remote.handler);

        b!.publish(t, 'm1');
        await first.waitFor(1);
        await second.waitFor(1);

        await unsubscribeFirst();
        b!.publish(t, 'm2');
        await second.waitFor(2);
        await flush(b!, a!);
        assert.deepEqual(first.messages, ['m1']);
        assert.deepEqual(second.messages, ['m1', 'm2']);

        // Calling an unsubscribe twice must not remove anybody else's subscription.
        await unsubscribeFirst();
        b!.publish(t, 'm3');
        await second.waitFor(3);

        await unsubscribeSecond();
        b!.publish(t, 'm4');
        await remote.waitFor(4);
        await flush(b!, a!);
        assert.deepEqual(first.messages, ['m1']);
        assert.deepEqual(second.messages, ['m1', 'm2', 'm3']);
        assert.deepEqual(remote.messages, ['m1', 'm2', 'm3', 'm4']);
      });
    });

    it('delivers again after unsubscribing and subscribing anew', async () => {
      await withCluster(2, async ([a, b]) => {
        const t = topic('resub');
        const old = new Inbox('old');
        const fresh = new Inbox('fresh');
        const unsubscribe = await a!.subscribe(t, old.handler);
        await unsubscribe();
        await a!.subscribe(t, fresh.handler);
        b!.publish(t, 'after');
        await fresh.waitFor(1);
        await flush(b!, a!);
        assert.deepEqual(fresh.messages, ['after']);
        assert.deepEqual(old.messages, []);
      });
    });

    it('ends up subscribed when an unsubscribe and a subscribe race on one topic', async () => {
      await withCluster(2, async ([a, b]) => {
        const t = topic('race');
        const inbox = new Inbox();
        // The last subscription leaves while a new one arrives, neither awaited first.
        const leaving = await a!.subscribe(t, () => assert.fail('unsubscribed handler called'));
        await Promise.all([leaving(), a!.subscribe(t, inbox.handler)]);
        // And a subscription that leaves before its subscribe has even resolved.
        const early = a!.subscribe(t, () => {});
        await Promise.all([early.then((unsubscribe) => unsubscribe()), a!.subscribe(t, () => {})]);
        b!.publish(t, 'still here');
        await inbox.waitFor(1);
        await flush(b!, a!);
        assert.deepEqual(inbox.messages, ['still here']);
      });
    });

    it('keeps the publish order of 1000 messages across 2 topics, for every subscriber', async () => {
      await withCluster(3, async ([publisher, b, c]) => {
        const topics = [topic('order-x'), topic('order-y')];
        const inboxes = [new Inbox('b'), new Inbox('c')];
        for (const [i, bus] of [b!, c!].entries()) {
          for (const t of topics) await bus.subscribe(t, inboxes[i]!.handler);
        }
        const expected: string[] = [];
        let seed = 7;
        for (let i = 0; i < 1000; i++) {
          // Irregular interleaving, so runs on one topic alternate with switches.
          seed = (seed * 1103515245 + 12345) % 2147483648;
          const t = topics[seed % 3 === 0 ? 1 : 0]!;
          const message = `${t.endsWith('x') ? 'x' : 'y'}:${i}`;
          expected.push(message);
          publisher!.publish(t, message);
        }
        for (const inbox of inboxes) {
          await inbox.waitFor(1000, 15_000);
          assert.deepEqual(inbox.messages, expected, `${inbox.name} saw another order`);
        }
      });
    });

    it('lets a handler publish, keeping order', async () => {
      await withCluster(2, async ([a, b]) => {
        const ping = topic('ping');
        const pong = topic('pong');
        const inbox = new Inbox();
        await a!.subscribe(ping, (message) => a!.publish(pong, `pong ${message}`));
        await b!.subscribe(pong, inbox.handler);
        for (let i = 0; i < 5; i++) b!.publish(ping, String(i));
        await inbox.waitFor(5);
        assert.deepEqual(inbox.messages, ['pong 0', 'pong 1', 'pong 2', 'pong 3', 'pong 4']);
      });
    });

    it('delivers a 1 MiB message intact', async () => {
      await withCluster(2, async ([a, b]) => {
        const t = topic('large');
        const inbox = new Inbox();
        await a!.subscribe(t, inbox.handler);
        let large = '';
        for (let i = 0; large.length < 1024 * 1024; i++) large += `${i.toString(36)},`;
        large = large.slice(0, 1024 * 1024);
        b!.publish(t, large);
        b!.publish(t, 'after the large one');
        await inbox.waitFor(2, 10_000);
        assert.equal(inbox.messages[0]!.length, 1024 * 1024);
        assert.ok(inbox.messages[0] === large, '1 MiB message came back altered');
        assert.equal(inbox.messages[1], 'after the large one');
      });
    });

    it('delivers unicode, control characters and empty messages intact, on unicode topics', async () => {
      await withCluster(2, async ([a, b]) => {
        const t = topic('ünï/cødé:*?[x] 🚦');
        const inbox = new Inbox();
        await a!.subscribe(t, inbox.handler);
        const messages = [
          'héllo wörld',
          '中文 日本語 한국어',
          '👩‍👩‍👧 🇺🇦 e\u0301',
          'עברית ومرحبا',
          'nul\u0000byte\r\nand\ttabs',
          '',
          '{"sdp":"v=0\\r\\n","emoji":"💡"}',
        ];
        for (const message of messages) b!.publish(t, message);
        await inbox.waitFor(messages.length);
        assert.deepEqual(inbox.messages, messages);
      });
    });
  });
}
