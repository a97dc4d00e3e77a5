/**
 * End to end with a real browser: a client page in headless Chromium, built on the SDK's
 * client connector (served to the browser as the SDK's own modules, types stripped),
 * negotiates a WebRTC data channel through Switchboard with a Cuttlefish-style device
 * (node-datachannel) and exchanges a message each way over it. The page is hosted
 * same-origin by the node itself (`cuttlefish.staticDir`), as real clients are.
 *
 * The flow is the real products': the client asks with `request-offer`, the device is the
 * offerer, Chromium answers, candidates trickle both ways in their native formats. When the
 * page closes, or ends the session itself, the device hears `client_disconnected`.
 *
 * Run on one node, and across a 2-node cluster (device on node 1, browser on node 2), so
 * every signaling message crosses Redis. There is no internet here: the nodes hand out no
 * ICE servers and the peers connect over host candidates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cleanup } from 'node-datachannel';
import type { Browser } from 'playwright-core';
import { launchChromium, writeModuleSite, type ModuleSite } from '../support/browser/chromium.ts';
import type { BrowserClient } from '../support/browser/cuttlefish-client-page.ts';
import { PageUnderTest } from '../support/browser/page-under-test.ts';
import { FakeDevice, nextMessage, NO_ICE_SERVERS, peerConnections, withTimeout } from '../support/fake-cuttlefish-device.ts';
import { startCluster, startNode, type Overrides, type TestNode } from '../support/switchboard-node.ts';

const CLIENT_PAGE = 'test/support/browser/cuttlefish-client-page.ts';

let sessions = 0;

/** How the session ends; either way the device must hear `client_disconnected`. */
type Ending = 'the page closes' | 'the page closes its connector';

/** One device on `deviceNode`, the browser client on `clientNode`, a data channel between them. */
async function dataChannelSession(browser: Browser, deviceNode: TestNode, clientNode: TestNode, ending: Ending): Promise<void> {
  const deviceId = `cvd-browser-${process.pid}-${++sessions}`;
  const device = new FakeDevice();
  const tab = new PageUnderTest(await browser.newPage());
  try {
    await withTimeout(device.start(deviceNode, deviceId), 'device registration');
    const client = await tab.load<BrowserClient>(`${clientNode.url}/index.html?device=${encodeURIComponent(deviceId)}`, 'cuttlefishClient');

    assert.equal(await tab.wait('browser data channel open', client.evaluate((c) => c.channelOpen)), 'cuttlefish-e2e');
    const deviceChannel = await tab.wait('device data channel open', device.channels.get(1) ?? Promise.reject(new Error('no peer for client 1')));

    const atDevice = nextMessage(deviceChannel);
    assert.ok(deviceChannel.sendMessage(`hello browser, from ${deviceId}`));
    await client.evaluate((c) => c.send('hello device, from Chromium'));
    assert.equal(await tab.wait('device → browser data channel message', client.evaluate((c) => c.firstMessage)), `hello browser, from ${deviceId}`);
    assert.equal(await tab.wait('browser → device data channel message', atDevice), 'hello device, from Chromium');

    // The signaling that got it there: request-offer first, offer/answer, candidates both ways.
    const { received, candidatesSent } = await client.evaluate((c) => ({ received: c.received, candidatesSent: c.candidatesSent }));
    assert.deepEqual(device.received[0], { clientId: 1, type: 'request-offer' });
    assert.ok(device.received.some((m) => m.type === 'answer'), 'device got the answer');
    assert.equal(received[0], 'offer', 'the offer is the first thing the browser hears');
    assert.ok(device.candidatesSent > 0 && received.includes('ice-candidate'), 'device candidates reached the browser');
    assert.ok(candidatesSent.length > 0 && device.received.some((m) => m.type === 'ice-candidate'), 'browser candidates reached the device');
    // Real addresses, not mDNS names the device cannot resolve (see launchChromium).
    assert.ok(!candidatesSent.some((line) => / [\w-]+\.local /.test(line)), `Chromium sent mDNS candidates: ${candidatesSent.join(' | ')}`);

    const gone = new Promise<number>((resolve) => device.connector.onClientDisconnected(resolve));
    if (ending === 'the page closes') await tab.page.close();
    else await tab.wait('the page closing its connector', client.evaluate((c) => c.close()));
    assert.equal(await tab.wait(`client_disconnected at the device when ${ending}`, gone), 1);
    assert.deepEqual(tab.pageErrors, [], 'no errors in the page');
  } finally {
    await tab.page.close();
    for (const pc of peerConnections.splice(0)) pc.close();
    await device.connector.close();
  }
}

describe('cuttlefish WebRTC end to end (Chromium + SDK)', () => {
  let browser: Browser | undefined;
  let site: ModuleSite | undefined;
  let overrides: Overrides;

  before(async () => {
    site = await writeModuleSite(['sdk/cuttlefish', 'sdk/common', CLIENT_PAGE], CLIENT_PAGE);
    overrides = { ...NO_ICE_SERVERS, 'cuttlefish.staticDir': site.dir };
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await site?.remove();
    for (const pc of peerConnections.splice(0)) pc.close();
    // Stops node-datachannel's threads; without it the test process never exits.
    cleanup();
  });

  test('single node: Chromium and the device open a data channel and talk both ways', async () => {
    const node = await startNode(overrides);
    try {
      await dataChannelSession(browser!, node, node, 'the page closes');
    } finally {
      await node.close();
    }
  });

  test('2-node cluster: device on node 1, Chromium on node 2', async () => {
    const cluster = await startCluster(2, overrides);
    try {
      await dataChannelSession(browser!, cluster.nodes[0]!, cluster.nodes[1]!, 'the page closes its connector');
    } finally {
      await cluster.close();
    }
  });
});
