import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { MobzRoomClient as BrowserRoomClient } from '../../sdk/mobz/index.ts';
import { MobzMessageTooLargeError, MobzRoomClient, type MobzRoomClientOptions } from '../../sdk/mobz/node.ts';
import { freshId, freshSession, record } from '../support/mobz-sdk-helpers.ts';
import { startNode, type TestNode } from '../support/switchboard-node.ts';
import { waitFor } from '../support/waiting.ts';
import { WsPeer } from '../support/ws-peer.ts';

const FRAME = 32768;
const MESSAGE = 131072;

/** What `offer(sdp)` costs beyond the sdp itself, read off the refusal of an oversized one. */
function envelopeOverhead(client: BrowserRoomClient): number {
  const probe = 'x'.repeat(FRAME);
  try {
    client.offer(probe);
  } catch (error) {
    assert.ok(error instanceof MobzMessageTooLargeError);
    return error.bytes - probe.length;
  }
  assert.fail('a message over the frame limit was accepted by a socket that cannot fragment');
}

describe('MobzRoomClient: frame and message limits', () => {
  let node: TestNode;
  const clients: BrowserRoomClient[] = [];

  function pair<C extends BrowserRoomClient>(make: (options: MobzRoomClientOptions) => C, url = node.wsUrl, extra: Partial<MobzRoomClientOptions> = {}) {
    const rid = freshId('room');
    const options = (more: Partial<MobzRoomClientOptions>): MobzRoomClientOptions => ({ url, rid, ch: 'p2p', ss: freshSession('frames'), ...extra, ...more });
    const sender = make(options({ op: { roomCreating: true } }));
    const receiver = new MobzRoomClient(options({}));
    clients.push(sender, receiver);
    return { sender, receiver };
  }

  before(async () => {
    node = await startNode();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await node.close();
  });

  test('the limit is real: a single 40 KB frame closes the socket with 1009', async () => {
    const peer = await WsPeer.open(`${node.wsUrl}/mobz`, { perMessageDeflate: false });
    peer.send('x'.repeat(40 * 1024));
    assert.equal((await peer.closed).code, 1009);
  });

  test('Node: a 100 KB offer goes out in frames of at most 32 KiB and arrives intact', async () => {
    const { sender, receiver } = pair((o) => new MobzRoomClient(o));
    await sender.join();
    await receiver.join();
    const received = record(receiver, 'signal');
    const sdp = `v=0\r\n${'a=candidate:0123456789abcdef é ✓\r\n'.repeat(3000)}`.slice(0, 100 * 1024);
    assert.ok(new TextEncoder().encode(sdp).byteLength > 3 * FRAME);
    sender.offer(sdp);
    sender.ice('after-the-big-one');
    await waitFor('the offer and the candidate', () => received.length === 2);
    assert.equal((received[0]![0] as { sdp: string }).sdp, sdp);
    assert.equal((received[1]![0] as { sdp: string }).sdp, 'after-the-big-one');
    assert.equal(sender.state, 'joined', 'the server kept the socket open');
  });

  test('Node: a message of exactly the message limit is accepted; one byte more is refused before sending', async () => {
    const { sender, receiver } = pair((o) => new MobzRoomClient(o));
    await sender.join();
    await receiver.join();
    const received = record(receiver, 'signal');
    const tooBig = 'y'.repeat(MESSAGE);
    const error = (() => {
      try {
        sender.offer(tooBig);
      } catch (caught) {
        return caught;
      }
      assert.fail('a message over the message limit was accepted');
    })();
    assert.ok(error instanceof MobzMessageTooLargeError);
    assert.equal(error.limit, 'message');
    assert.equal(error.maxBytes, MESSAGE);
    const exact = 'y'.repeat(MESSAGE - (error.bytes - tooBig.length));
    sender.offer(exact);
    await waitFor('the offer of exactly 131072 bytes', () => received.length === 1);
    assert.equal((received[0]![0] as { sdp: string }).sdp, exact);
    assert.throws(() => sender.offer(`${exact}z`), MobzMessageTooLargeError);
  });

  test('Node: frame size follows maxFrameBytes (a server limited to 1 KiB frames)', async () => {
    const small = await startNode({ 'mobz.maxFrameBytes': 1024 });
    try {
      const { sender, receiver } = pair((o) => new MobzRoomClient(o), small.wsUrl, { maxFrameBytes: 1024 });
      await sender.join();
      await receiver.join();
      const received = record(receiver, 'signal');
      const sdp = 'z'.repeat(10_000);
      sender.offer(sdp);
      await waitFor('the 10 KB offer', () => received.length === 1);
      assert.equal((received[0]![0] as { sdp: string }).sdp, sdp);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await small.close();
    }
  });

  test('browser-style socket (the standard WebSocket cannot fragment): over 32 KiB is refused with MobzMessageTooLargeError', async () => {
    assert.equal(typeof globalThis.WebSocket, 'function', 'Node 24 has a standard global WebSocket');
    const { sender, receiver } = pair((o) => new BrowserRoomClient(o));
    // Refused even before joining: nothing oversized ever waits in the outbox.
    assert.throws(
      () => sender.offer('x'.repeat(40 * 1024)),
      (error: unknown) => error instanceof MobzMessageTooLargeError && error.limit === 'frame' && error.maxBytes === FRAME && /cannot split/.test(error.message),
    );
    await sender.join();
    await receiver.join();
    const received = record(receiver, 'signal');
    const exact = 'x'.repeat(FRAME - envelopeOverhead(sender));
    sender.offer(exact);
    await waitFor('the offer of exactly 32768 bytes', () => received.length === 1);
    assert.equal((received[0]![0] as { sdp: string }).sdp, exact);
    assert.throws(() => sender.offer(`${exact}x`), MobzMessageTooLargeError);
    assert.equal(sender.state, 'joined');
  });

  test('the browser entry imports nothing from Node', async () => {
    // Every browser-side module of sdk/mobz and what they reach: SDK files and sdk/common, never node.ts or a package.
    const sdk = new URL('../../sdk/', import.meta.url);
    const files = (await readdir(new URL('mobz/', sdk))).filter((name) => name.endsWith('.ts') && name !== 'node.ts');
    assert.ok(files.includes('index.ts'));
    const seen = new Set<string>();
    const pending = files.map((name) => new URL(`mobz/${name}`, sdk).href);
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = await readFile(new URL(file), 'utf8');
      const imports = [...source.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((match) => match[1]!);
      const name = file.slice(sdk.href.length);
      for (const specifier of imports) {
        const target = specifier.startsWith('.') ? new URL(specifier, file).href : specifier;
        const allowed = (target.startsWith(new URL('mobz/', sdk).href) || target.startsWith(new URL('common/', sdk).href)) && !target.endsWith('/mobz/node.ts');
        assert.ok(allowed, `${name} imports ${specifier}: only browser-safe SDK modules may be reached from the browser entry`);
        pending.push(target);
      }
    }
    assert.ok(seen.size > 5, `walked ${seen.size} modules`);
  });
});
