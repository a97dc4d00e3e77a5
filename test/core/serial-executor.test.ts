import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SerialExecutor } from '../../src/core/serial-executor.ts';

describe('SerialExecutor', () => {
  it('runs synchronous tasks at once and asynchronous ones in arrival order', async () => {
    const seen: string[] = [];
    const executor = new SerialExecutor({ taskFailed() {} });
    executor.run(() => void seen.push('a'));
    assert.deepEqual(seen, ['a'], 'a sync task runs immediately');
    executor.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen.push('b');
    });
    executor.run(() => void seen.push('c'));
    assert.equal(executor.idle, false);
    assert.deepEqual(seen, ['a']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(seen, ['a', 'b', 'c']);
    assert.equal(executor.idle, true);
  });

  it('queues a task scheduled from inside a running task behind those already waiting', async () => {
    const seen: string[] = [];
    const executor = new SerialExecutor({ taskFailed() {} });
    executor.run(async () => {
      await Promise.resolve();
      seen.push('first');
    });
    executor.run(() => {
      seen.push('second');
      executor.run(() => void seen.push('nested'));
    });
    executor.run(() => void seen.push('third'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(seen, ['first', 'second', 'third', 'nested']);
  });

  it('runWith runs a task at once when idle, later tasks wait for it, and it queues when busy', async () => {
    const seen: string[] = [];
    const executor = new SerialExecutor({ taskFailed() {} });
    const owner = { name: 'owner' };
    async function slow(this: typeof owner, label: string, ms: number): Promise<void> {
      seen.push(`${this.name} starts ${label}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      seen.push(`${label} done`);
    }
    executor.runWith(slow, owner, 'direct', 20);
    assert.deepEqual(seen, ['owner starts direct'], 'ran at once, with its `this`');
    executor.runWith(slow, owner, 'queued', 0);
    executor.run(() => void seen.push('last'));
    assert.deepEqual(seen, ['owner starts direct']);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(seen, ['owner starts direct', 'direct done', 'owner starts queued', 'queued done', 'last']);
  });

  it('reports a failing task and goes on with the next', async () => {
    const errors: unknown[] = [];
    const seen: string[] = [];
    const executor = new SerialExecutor({ taskFailed: (error) => void errors.push(error) });
    executor.run(() => {
      throw new Error('sync boom');
    });
    executor.run(async () => {
      throw new Error('async boom');
    });
    executor.run(() => void seen.push('after'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(errors.length, 2);
    assert.deepEqual(seen, ['after']);
  });
});
