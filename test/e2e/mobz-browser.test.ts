/**
 * End to end with a real browser: two pages in headless Chromium, each a member of one
 * mobz `p2p` room through the SDK's browser entry (sdk/mobz/index.ts, served to the
 * browser as the SDK's own modules, types stripped), negotiate a real RTCPeerConnection
 * through the SDK's OFFER/ANSWER/ICE signals and exchange a data-channel message each
 * way. The pages are hosted same-origin by the node itself (`cuttlefish.staticDir`).
 *
 * Run on one node, and across a 2-node cluster (each page on its own node, so every
 * signal crosses Redis). Then the browser's own network events: one page's context goes
 * offline and back, and the SDK must follow `offline`/`online` through its state diagram
 * and lose no signal either way. There is no internet here: the nodes hand out no ICE
 * servers and the peers connect over host candidates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, JSHandle } from 'playwright-core';
import { launchChromium, writeModuleSite, type ModuleSite } from '../support/browser/chromium.ts';
import type { MemberOptions, RoomMember } from '../support/browser/mobz-room-page.ts';
import { PageUnderTest } from '../support/browser/page-under-test.ts';
import { describe as describeStates, freshId, freshSession, path } from '../support/mobz-sdk-helpers.ts';
import { startCluster, startNode, type Overrides, type TestNode } from '../support/switchboard-node.ts';
import { delay, waitFor } from '../support/waiting.ts';

const ROOM_PAGE = 'test/support/browser/mobz-room-page.ts';

/**
 * Fast SDK timers so recovery takes well under a second. But a generous liveness timeout:
 * no scenario here has a silent link, and on a loaded machine a page's stall of a second
 * would look like one (an unplanned joined → waitingNetwork).
 */
const FAST = { heartbeatIntervalMs: 300, livenessTimeoutMs: 5000, checkdogIntervalMs: 100, joinAckTimeoutMs: 3000, reconnectDelayMs: 50, maxReconnectDelayMs: 200 } as const;

/** A function playwright runs in the page, on its member. */
type InPage<A, R> = (member: RoomMember, arg: A) => R | Promise<R>;

/** A page in its own browser context (so it can go offline alone), and its `window.mobzRoom`. */
class MemberTab {
  readonly context: BrowserContext;
  readonly tab: PageUnderTest;
  readonly #member: JSHandle<RoomMember>;

  static async open(browser: Browser, node: TestNode): Promise<MemberTab> {
    const context = await browser.newContext();
    const tab = new PageUnderTest(await context.newPage());
    return new MemberTab(context, tab, await tab.load<RoomMember>(`${node.url}/index.html`, 'mobzRoom'));
  }

  private constructor(context: BrowserContext, tab: PageUnderTest, member: JSHandle<RoomMember>) {
    this.context = context;
    this.tab = tab;
    this.#member = member;
  }

  get pageErrors(): string[] {
    return this.tab.pageErrors;
  }

  /** Runs `fn` in the page on its `window.mobzRoom`; `arg` goes along serialized (closures do not). */
  run<R, A = undefined>(what: string, fn: InPage<A, R>, arg?: A): Promise<R> {
    return this.tab.wait(what, this.#member.evaluate(fn as InPage<unknown, R>, arg));
  }

  /** Polls the page until `condition` holds of its member. */
  until<A = undefined>(what: string, condition: InPage<A, boolean>, arg?: A): Promise<void> {
    return this.tab.wait(what, waitFor(what, () => this.#member.evaluate(condition as InPage<unknown, boolean>, arg)));
  }

  async close(): Promise<void> {
    await this.context.close();
  }
}

function member(rid: string, name: string, creating: boolean): MemberOptions {
  return { rid, ss: freshSession(name), op: { roomCreating: creating }, ...FAST };
}

interface Call {
  /** Created the room; answers. */
  readonly caller: MemberTab;
  /** Joined it; offers. */
  readonly callee: MemberTab;
  close(): Promise<void>;
}

/**
 * The caller (on `callerNode`) creates the room, the callee (on `calleeNode`) joins it and
 * offers, the caller answers, candidates trickle both ways; then a message each way.
 */
async function establishCall(browser: Browser, callerNode: TestNode, calleeNode: TestNode, callerOptions: Partial<MemberOptions> = {}): Promise<Call> {
  const rid = freshId('browser-room');
  const [caller, callee] = await Promise.all([MemberTab.open(browser, callerNode), MemberTab.open(browser, calleeNode)]);
  const call = { caller, callee, close: () => Promise.all([caller, callee].map((tab) => tab.close())).then(() => {}) };
  try {
    assert.equal(await caller.run('caller join', (m, o) => m.join(o), { ...member(rid, 'caller', true), ...callerOptions }), 'admin');
    assert.equal(await callee.run('callee join', (m, o) => m.join(o), member(rid, 'callee', false)), 'publisher');
    await callee.run('callee offer', (m) => m.call());

    assert.equal(await caller.run('caller data channel open', (m) => m.channelOpen), 'mobz-browser-e2e');
    assert.equal(await callee.run('callee data channel open', (m) => m.channelOpen), 'mobz-browser-e2e');
    await callee.run('callee sends', (m) => m.send('hello caller, from the callee'));
    await caller.run('caller sends', (m) => m.send('hello callee, from the caller'));
    await caller.until('callee → caller message', (m) => m.messages.length > 0);
    await callee.until('caller → callee message', (m) => m.messages.length > 0);
    assert.deepEqual(await caller.run('caller messages', (m) => m.messages), ['hello caller, from the callee']);
    assert.deepEqual(await callee.run('callee messages', (m) => m.messages), ['hello callee, from the caller']);

    for (const [name, tab] of [['caller', caller], ['callee', callee]] as const) {
      const { state, states } = await tab.run(`${name} states`, (m) => ({ state: m.state, states: m.states }));
      assert.equal(state, 'joined', `${name} state`);
      assert.deepEqual(path(states), ['idle', 'initializing', 'joined'], `${name}: ${describeStates(states)}`);
    }
    // The signaling that got it there: the offer, the answer, candidates both ways, each once.
    await caller.until('caller gathered all candidates', (m) => m.iceGathering === 'complete');
    await callee.until('callee gathered all candidates', (m) => m.iceGathering === 'complete');
    await assertDeliveredOnce(callee, caller);
    await assertDeliveredOnce(caller, callee);
    const [atCaller, atCallee] = await Promise.all([caller.run('caller signals', (m) => m.received), callee.run('callee signals', (m) => m.received)]);
    assert.equal(atCaller[0], 'OFFER');
    assert.equal(atCallee[0], 'ANSWER');
    assert.ok(atCaller.some((s) => s.startsWith('ICE ')) && atCallee.some((s) => s.startsWith('ICE ')), 'candidates both ways');
    return call;
  } catch (error) {
    await call.close();
    throw error;
  }
}

/** Also none that came while the test was not waiting on the page. */
function assertNoPageErrors({ caller, callee }: Call): void {
  assert.deepEqual([...caller.pageErrors, ...callee.pageErrors], [], 'no errors in the pages');
}

/** A host candidate on a documentation address (RFC 5737): never routed, harmless to the peer's connection. */
function unroutable(port: number): RTCIceCandidateInit {
  return { candidate: `candidate:${port} 1 udp 1 203.0.113.9 ${port} typ host`, sdpMid: '0', sdpMLineIndex: 0 };
}

/**
 * `to` has had every signal `from` sent, once each, in order. Waits until it has had as
 * many; a duplicate (or a held signal delivered late) would then still show: the server
 * delivers what it held for a member before anything sent after the member's re-join.
 */
async function assertDeliveredOnce(from: MemberTab, to: MemberTab): Promise<void> {
  const sent = await from.run('signals sent', (m) => m.sent);
  await to.until(`${sent.length} signals delivered`, (m, count) => m.received.length >= count, sent.length);
  assert.deepEqual(await to.run('signals received', (m) => m.received), sent);
}

describe('mobz in Chromium: the browser SDK end to end', () => {
  let browser: Browser | undefined;
  let site: ModuleSite | undefined;
  let overrides: Overrides;

  before(async () => {
    site = await writeModuleSite(['sdk/mobz', 'sdk/common', ROOM_PAGE], ROOM_PAGE);
    overrides = { iceServers: [], 'cuttlefish.staticDir': site.dir };
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await site?.remove();
  });

  test('single node: two pages join a p2p room, negotiate a peer connection and talk both ways', async () => {
    const node = await startNode(overrides);
    try {
      const call = await establishCall(browser!, node, node);
      assertNoPageErrors(call);
      await call.close();
    } finally {
      await node.close();
    }
  });

  test('2-node cluster: caller on node 1, callee on node 2', async () => {
    const cluster = await startCluster(2, overrides);
    try {
      const call = await establishCall(browser!, cluster.nodes[0]!, cluster.nodes[1]!);
      assertNoPageErrors(call);
      await call.close();
    } finally {
      await cluster.close();
    }
  });

  test('the browser goes offline and back: joined → waitingNetwork → reinitializing → joined, no signal lost', async () => {
    const node = await startNode(overrides);
    try {
      // A first reconnect far beyond the test: only the browser's `online` event can bring
      // the caller back in time. No heartbeat while it goes offline either (see below), yet
      // within the server's heartbeat window (10 s).
      const quietCaller = { reconnectDelayMs: 60_000, maxReconnectDelayMs: 60_000, heartbeatIntervalMs: 5000, livenessTimeoutMs: 20_000 };
      const call = await establishCall(browser!, node, node, quietCaller);
      const { caller, callee } = call;
      const since = (await caller.run('caller states', (m) => m.states)).length;
      const calleeSince = (await callee.run('callee states', (m) => m.states)).length;

      await caller.context.setOffline(true);
      await caller.until('caller waitingNetwork', (m) => m.state === 'waitingNetwork');
      // Chromium's offline emulation holds an open WebSocket's data frames (both ways) and
      // fails new sockets (ERR_INTERNET_DISCONNECTED), but lets a close frame through unless
      // a held data frame is ahead of it (a heartbeat sent just as the emulation began: hence
      // the quiet caller). So the socket the SDK drops on `offline` closes at the server at
      // once, and the server buffers what the callee sends meanwhile. After a real network
      // loss the server would write into the dead socket until it noticed, and that is lost.
      await waitFor('the server saw the caller’s socket go', () => node.metrics.dialect('mobz').connections === 1);
      await callee.run('callee candidate while the caller is offline', (m, c) => m.sendCandidate(c), unroutable(1));
      await caller.run('caller candidate while offline', (m, c) => m.sendCandidate(c), unroutable(2));
      await delay(300);
      assert.equal(await caller.run('caller state', (m) => m.state), 'waitingNetwork', 'it waits for the network');

      await caller.context.setOffline(false);
      await caller.until('caller joined again', (m) => m.state === 'joined');
      const states = (await caller.run('caller states', (m) => m.states)).slice(since);
      assert.deepEqual(
        states.map((change) => `${change.from}→${change.to}(${change.reason})`),
        ['joined→waitingNetwork(offline)', 'waitingNetwork→reinitializing(rejoin)', 'reinitializing→joined(join-acked)'],
      );
      const calleeStates = (await callee.run('callee states', (m) => m.states)).slice(calleeSince);
      assert.deepEqual(calleeStates, [], `the callee never left joined: ${describeStates(calleeStates)}`);

      // A last candidate each way, sent after the re-join: what was held for the outage
      // (and any duplicate of it) comes before it.
      await callee.run('callee candidate after the outage', (m, c) => m.sendCandidate(c), unroutable(3));
      await caller.run('caller candidate after the outage', (m, c) => m.sendCandidate(c), unroutable(4));
      await assertDeliveredOnce(callee, caller);
      await assertDeliveredOnce(caller, callee);

      // The peer connection did not need the signaling: it carries on.
      await callee.run('callee sends again', (m) => m.send('still there?'));
      await caller.until('the message after the outage', (m) => m.messages.includes('still there?'));
      assertNoPageErrors(call);
      await call.close();
    } finally {
      await node.close();
    }
  });
});
