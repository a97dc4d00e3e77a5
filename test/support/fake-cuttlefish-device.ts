/**
 * A Cuttlefish device for end-to-end tests: the SDK's device connector plus node-datachannel,
 * behaving like the real streamer (one PeerConnection per client, created at that client's
 * `request-offer`, the device offering, candidates trickled with `mid` and `mLineIndex`).
 */
import { PeerConnection, type DataChannel, type IceServer as RtcIceServer } from 'node-datachannel';
import {
  CuttlefishDeviceConnector,
  type ClientIceCandidatePayload,
  type ClientPayload,
  type DeviceIceCandidatePayload,
  type IceServer,
  type JsonValue,
} from '../../sdk/cuttlefish/index.ts';
import type { TestNode } from './switchboard-node.ts';
import { withTimeout } from './waiting.ts';

export { withTimeout };

export const NO_ICE_SERVERS = { iceServers: [] };

export function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: Error): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/**
 * The server's ICE servers in node-datachannel's form. Public STUN servers are dropped:
 * nothing outside this machine is reachable, and waiting for them only slows gathering.
 */
export function toRtcIceServers(servers: IceServer[]): (string | RtcIceServer)[] {
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
export function mLineIndexOf(sdp: string, mid: string): number {
  const sections = sdp.split(/\r?\nm=/).slice(1);
  const index = sections.findIndex((section) => new RegExp(`\\r?\\na=mid:${mid}\\r?(\\n|$)`).test(section));
  return Math.max(index, 0);
}

export function opened(channel: DataChannel): Promise<DataChannel> {
  return new Promise((resolve) => {
    if (channel.isOpen()) resolve(channel);
    else channel.onOpen(() => resolve(channel));
  });
}

export function nextMessage(channel: DataChannel): Promise<string> {
  return new Promise((resolve) => channel.onMessage((message) => resolve(String(message))));
}

export function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every PeerConnection made, closed at the end so that `cleanup()` can let the process exit. */
export const peerConnections: PeerConnection[] = [];

interface DevicePeer {
  pc: PeerConnection;
  remoteSet: boolean;
  /** The client's candidates that came before its answer. */
  queued: ClientIceCandidatePayload[];
  /** The device's own candidates, held until the client's answer is set (see `#offer`). */
  held: DeviceIceCandidatePayload[];
}

/**
 * A Cuttlefish device as its streamer behaves: a PeerConnection per client, created at
 * that client's `request-offer`, with the device offering.
 */
export class FakeDevice {
  readonly connector = new CuttlefishDeviceConnector();
  readonly channels = new Map<number, Promise<DataChannel>>();
  readonly received: { clientId: number; type: string }[] = [];
  readonly #peers = new Map<number, DevicePeer>();
  #iceServers: IceServer[] = [];
  candidatesSent = 0;

  async start(node: TestNode, deviceId: string): Promise<void> {
    this.connector.onClientMessage((clientId, payload) => this.#onClientMessage(clientId, payload as ClientPayload));
    this.connector.onClientDisconnected((clientId) => {
      this.#peers.get(clientId)?.pc.close();
      this.#peers.delete(clientId);
    });
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
        for (const candidate of peer.held.splice(0)) this.#sendCandidate(clientId, candidate);
        return;
      }
      case 'ice-candidate': {
        // A candidate the client trickled as it left may follow the disconnect; real devices drop it.
        const peer = this.#peers.get(clientId);
        if (!peer) return;
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
    const peer: DevicePeer = { pc, remoteSet: false, queued: [], held: [] };
    this.#peers.set(clientId, peer);
    pc.onLocalDescription((sdp, type) => this.connector.sendToClient(clientId, { type: type as 'offer', sdp }));
    // A real device trickles at once. libdatachannel cannot: its ICE answers the client's
    // checks before the answer is set, the client's DTLS hello then finds no fingerprint to
    // verify against and the connection fails ("DTLS alert: unknown CA", libdatachannel
    // issue #1390). Across nodes the answer travels through Redis and often loses that race.
    // Holding the candidates until the answer is set keeps the client's checks back until then.
    pc.onLocalCandidate((candidate, mid) => {
      const message: DeviceIceCandidatePayload = {
        type: 'ice-candidate',
        mid,
        mLineIndex: mLineIndexOf(pc.localDescription()?.sdp ?? '', mid),
        candidate: candidate.replace(/^a=/, ''),
      };
      if (peer.remoteSet) this.#sendCandidate(clientId, message);
      else peer.held.push(message);
    });
    // Creating the channel starts the negotiation: the offer comes via onLocalDescription.
    this.channels.set(clientId, opened(pc.createDataChannel('cuttlefish-e2e')));
  }

  #sendCandidate(clientId: number, message: DeviceIceCandidatePayload): void {
    this.candidatesSent++;
    this.connector.sendToClient(clientId, message);
  }

  #addCandidate(pc: PeerConnection, payload: ClientIceCandidatePayload): void {
    pc.addRemoteCandidate(payload.candidate.candidate, payload.candidate.sdpMid ?? '0');
  }
}

