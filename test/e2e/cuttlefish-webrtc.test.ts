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
import { cleanup, PeerConnection, type DataChannel, type IceServer as RtcIceServer } from 'node-datachannel';
import {
  CuttlefishClientConnector,
  CuttlefishDeviceConnector,
  type ClientIceCandidatePayload,
  type ClientPayload,
  type DeviceIceCandidatePayload,
  type DevicePayload,
  type IceServer,
  type JsonValue,
} from '../../sdk/cuttlefish/index.ts';
import { startCluster, startNode, type TestNode } from '../support/switchboard-node.ts';

const STEP_TIMEOUT_MS = 20_000;
const NO_ICE_SERVERS = { iceServers: [] };

function withTimeout<T>(promise: Promise<T>, what: string, ms = STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: Error): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/**
 * The server's ICE servers in node-datachannel's form. Public STUN servers are dropped:
 * nothing outside this machine is reachable, and waiting for them only slows gathering.
 */
function toRtcIceServers(servers: IceServer[]): (string | RtcIceServer)[] {
  const result: (string | RtcIceServer)[] = [];
  for (const server of servers) {
    for (const url of server.urls) {
      if (url.includes('stun.l.google.com')) continue;
      const turn = /^turns?:([^:?]+):?(\d+)?/.exec(url);
      if (turn) {
        result.push({
          hostname: turn[1]!,
          port: Number(turn[2] ?? 3478),
          ...(server.username === undefined ? {} : { username: server.username }),
          ...(server.credential === undefined ? {} : { password: server.credential }),
          relayType: url.startsWith('turns:') ? 'TurnTls' : url.includes('transport=tcp') ? 'TurnTcp' : 'TurnUdp',
        });
      } else {
        result.push(url);
      }
    }
  }
  return result;
}

/** The m-line index of `mid` in an SDP (the device's candidates carry both). */
function mLineIndexOf(sdp: string, mid: string): number {
  const sections = sdp.split(/\r?\nm=/).slice(1);
  const index = sections.findIndex((section) => new RegExp(`\\r?\\na=mid:${mid}\\r?(\\n|$)`).test(section));
  return Math.max(index, 0);
}

function opened(channel: DataChannel): Promise<DataChannel> {
  return new Promise((resolve) => {
    if (channel.isOpen()) resolve(channel);
    else channel.onOpen(() => resolve(channel));
  });
}

function nextMessage(channel: DataChannel): Promise<string> {
  return new Promise((resolve) => channel.onMessage((message) => resolve(String(message))));
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every PeerConnection made, closed at the end so that `cleanup()` can let the process exit. */
const peerConnections: PeerConnection[] = [];

/**
 * A Cuttlefish device as its streamer behaves: a PeerConnection per client, created at
 * that client's `request-offer`, with the device offering.
 */
class FakeDevice {
  readonly connector = new CuttlefishDeviceConnector();
  readonly channels = new Map<number, Promise<DataChannel>>();
  readonly received: { clientId: number; type: string }[] = [];
  readonly #peers = new Map<number, { pc: PeerConnection; remoteSet: boolean; queued: ClientIceCandidatePayload[] }>();
  #iceServers: IceServer[] = [];
  candidatesSent = 0;

  async start(node: TestNode, deviceId: string): Promise<void> {
    this.connector.onClientMessage((clientId, payload) => this.#onClientMessage(clientId, payload as ClientPayload));
    this.connector.onClientDisconnected((clientId) => this.#peers.get(clientId)?.pc.close());
    await this.connector.connect(node.wsUrl);
    // Like a real device: the config's ICE servers are the device's own.
    const config = await this.connector.register(deviceId, { hardware: { cpus: 2 }, displays: [], audio_streams: [], touchpads: [] });
    this.#iceServers = config.ice_servers;
  }

  #onClientMessage(clientId: number, payload: ClientPayload): void {
    this.received.push({ clientId, type: payload.type });
    switch (payload.type) {
      case 'request-offer':
        return this.#offer(clientId);
      case 'answer': {
        const peer = this.#peers.get(clientId)!;
        peer.pc.setRemoteDescription(payload.sdp, 'answer');
        peer.remoteSet = true;
        for (const candidate of peer.queued.splice(0)) this.#addCandidate(peer.pc, candidate);
        return;
      }
      case 'ice-candidate': {
        const peer = this.#peers.get(clientId)!;
        if (peer.remoteSet) this.#addCandidate(peer.pc, payload);
        else peer.queued.push(payload);
        return;
      }
      default:
        throw new Error(`device: unexpected payload ${JSON.stringify(payload)}`);
    }
  }

  #offer(clientId: number): void {
    const pc = new PeerConnection(`device-client-${clientId}`, { iceServers: toRtcIceServers(this.#iceServers) });
    peerConnections.push(pc);
    this.#peers.set(clientId, { pc, remoteSet: false, queued: [] });
    pc.onLocalDescription((sdp, type) => this.connector.sendToClient(clientId, { type: type as 'offer', sdp }));
    pc.onLocalCandidate((candidate, mid) => {
      this.candidatesSent++;
      const message: DeviceIceCandidatePayload = {
        type: 'ice-candidate',
        mid,
        mLineIndex: mLineIndexOf(pc.localDescription()?.sdp ?? '', mid),
        candidate: candidate.replace(/^a=/, ''),
      };
      this.connector.sendToClient(clientId, message);
    });
    // Creating the channel starts the negotiation: the offer comes via onLocalDescription.
    this.channels.set(clientId, opened(pc.createDataChannel('cuttlefish-e2e')));
  }

  #addCandidate(pc: PeerConnection, payload: ClientIceCandidatePayload): void {
    pc.addRemoteCandidate(payload.candidate.candidate, payload.candidate.sdpMid ?? '0');
  }
}

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
    assert.equal(client.received[0], 'offer', 'the offer is not overtaken by its candidates');
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
