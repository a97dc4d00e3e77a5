/**
 * End to end: a Cuttlefish-style device and client, built on the SDK connectors and on
 * node-datachannel, negotiate a real WebRTC data channel through Switchboard and talk
 * over it. The flow is the real products': the client asks with `request-offer`, the
 * device is the offerer, the client answers, candidates trickle both ways.
 *
 * Run on one node, and across a 2-node cluster (device on node 1, client on node 2), so
 * every signaling message crosses Redis. There is no internet here: the nodes hand out
 * no ICE servers and the peers connect over host candidates.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { cleanup, PeerConnection, type DataChannel } from 'node-datachannel';
import {
  CuttlefishClientConnector,
  type ClientIceCandidatePayload,
  type DeviceIceCandidatePayload,
  type DevicePayload,
  type IceServer,
} from '../../sdk/cuttlefish/index.ts';
import {
  deferred,
  FakeDevice,
  isObject,
  mLineIndexOf,
  nextMessage,
  NO_ICE_SERVERS,
  opened,
  peerConnections,
  toRtcIceServers,
  withTimeout,
} from '../support/fake-cuttlefish-device.ts';
import { startCluster, startNode, type TestNode } from '../support/switchboard-node.ts';

/** The browser client's side (cf_webrtc.js): asks for an offer, answers it. */
class FakeClient {
  readonly connector = new CuttlefishClientConnector();
  readonly channel = deferred<DataChannel>();
  readonly received: string[] = [];
  #pc: PeerConnection | undefined;
  #queued: DeviceIceCandidatePayload[] = [];
  candidatesSent = 0;

  async start(node: TestNode, deviceId: string): Promise<void> {
    const { deviceInfo, infraConfig } = await this.connector.connect(node.wsUrl, deviceId);
    assert.ok(isObject(deviceInfo) && isObject(deviceInfo.hardware), 'device_info as registered');
    this.connector.onDeviceMessage((payload) => this.#onDeviceMessage(payload as DevicePayload, infraConfig.ice_servers));
    this.connector.onError((text) => this.channel.reject(new Error(`client: server error ${text}`)));
    this.connector.sendToDevice({ type: 'request-offer', ice_servers: infraConfig.ice_servers });
  }

  #onDeviceMessage(payload: DevicePayload, iceServers: IceServer[]): void {
    this.received.push(payload.type);
    switch (payload.type) {
      case 'offer': {
        const pc = new PeerConnection('client', { iceServers: toRtcIceServers(iceServers) });
        peerConnections.push(pc);
        this.#pc = pc;
        pc.onLocalDescription((sdp, type) => this.connector.sendToDevice({ type: type as 'answer', sdp }));
        pc.onLocalCandidate((candidate, mid) => {
          this.candidatesSent++;
          // An RTCIceCandidate's JSON, as the browser sends it.
          const message: ClientIceCandidatePayload = {
            type: 'ice-candidate',
            candidate: { candidate: candidate.replace(/^a=/, ''), sdpMid: mid, sdpMLineIndex: mLineIndexOf(pc.localDescription()?.sdp ?? '', mid) },
          };
          this.connector.sendToDevice(message);
        });
        pc.onDataChannel((channel) => void opened(channel).then((open) => this.channel.resolve(open)));
        pc.setRemoteDescription(payload.sdp, 'offer');
        for (const candidate of this.#queued.splice(0)) pc.addRemoteCandidate(candidate.candidate, candidate.mid);
        return;
      }
      case 'ice-candidate':
        if (this.#pc) this.#pc.addRemoteCandidate(payload.candidate, payload.mid);
        else this.#queued.push(payload);
        return;
      default:
        this.channel.reject(new Error(`client: unexpected payload ${JSON.stringify(payload)}`));
    }
  }
}

let sessions = 0;

/** One device on `deviceNode`, one client on `clientNode`, a data channel between them. */
async function dataChannelSession(deviceNode: TestNode, clientNode: TestNode): Promise<void> {
  const deviceId = `cvd-e2e-${process.pid}-${++sessions}`;
  const device = new FakeDevice();
  const client = new FakeClient();
  try {
    await withTimeout(device.start(deviceNode, deviceId), 'device registration');
    await withTimeout(client.start(clientNode, deviceId), 'client connect');

    const clientChannel = await withTimeout(client.channel.promise, 'client data channel open');
    const deviceChannel = await withTimeout(device.channels.get(1)!, 'device data channel open');
    assert.equal(clientChannel.getLabel(), 'cuttlefish-e2e');

    // Listen first on both ends, then send both ways.
    const atClient = nextMessage(clientChannel);
    const atDevice = nextMessage(deviceChannel);
    assert.ok(deviceChannel.sendMessage(`hello client, from ${deviceId}`));
    assert.ok(clientChannel.sendMessage('hello device, from client 1'));
    assert.equal(await withTimeout(atClient, 'device → client data channel message'), `hello client, from ${deviceId}`);
    assert.equal(await withTimeout(atDevice, 'client → device data channel message'), 'hello device, from client 1');

    // The signaling that got it there: request-offer first, offer/answer, candidates both ways.
    assert.deepEqual(device.received[0], { clientId: 1, type: 'request-offer' });
    assert.ok(device.received.some((m) => m.type === 'answer'), 'device got the answer');
    assert.equal(client.received[0], 'offer', 'the offer is the first thing the client hears');
    assert.ok(device.candidatesSent > 0 && client.received.includes('ice-candidate'), 'device candidates reached the client');
    assert.ok(client.candidatesSent > 0 && device.received.some((m) => m.type === 'ice-candidate'), 'client candidates reached the device');

    const gone = new Promise<number>((resolve) => device.connector.onClientDisconnected(resolve));
    await client.connector.close();
    assert.equal(await withTimeout(gone, 'client_disconnected at the device'), 1);
  } finally {
    for (const pc of peerConnections.splice(0)) pc.close();
    await client.connector.close();
    await device.connector.close();
  }
}

describe('cuttlefish WebRTC end to end (SDK + node-datachannel)', () => {
  after(() => {
    for (const pc of peerConnections.splice(0)) pc.close();
    // Stops node-datachannel's threads; without it the test process never exits.
    cleanup();
  });

  test('single node: device and client open a data channel and talk both ways', async () => {
    const node = await startNode(NO_ICE_SERVERS);
    try {
      await dataChannelSession(node, node);
    } finally {
      await node.close();
    }
  });

  test('2-node cluster: device on node 1, client on node 2', async () => {
    const cluster = await startCluster(2, NO_ICE_SERVERS);
    try {
      await dataChannelSession(cluster.nodes[0]!, cluster.nodes[1]!);
    } finally {
      await cluster.close();
    }
  });
});
