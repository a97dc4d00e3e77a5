/**
 * Relay-only WebRTC peers (node-datachannel, `iceTransportPolicy: 'relay'`) for the TURN
 * end-to-end test, run as a child process: `node relay-only-peers.ts '<PeersJob JSON>'`.
 * It prints one JSON line, a {@link PeersReport}, and exits.
 *
 * Why a child process: libdatachannel 0.24 (node-datachannel 0.33) can deadlock the DTLS
 * handshake of a connection whose selected pair is a TURN relay (libdatachannel PR #1630):
 * the ICE thread starts DTLS while holding libjuice's lock, a worker thread processing the
 * peer's early ClientHello holds the DTLS lock and waits for libjuice's. Both threads are
 * process-wide; once stuck, every later connection and `close()`/`cleanup()` in that process
 * hang too. In a child, the test can see it (ICE connected, DTLS never done), kill it and
 * try again, and the test process itself never loads node-datachannel.
 */
import { cleanup, PeerConnection, type DataChannel } from 'node-datachannel';
import {
  CuttlefishClientConnector,
  CuttlefishDeviceConnector,
  type ClientIceCandidatePayload,
  type ClientPayload,
  type DeviceIceCandidatePayload,
  type DevicePayload,
  type IceServer,
} from '../../sdk/cuttlefish/index.ts';
import { deferred, mLineIndexOf, nextMessage, opened, toRtcIceServers } from './fake-cuttlefish-device.ts';

export type PeersTask =
  /** A Cuttlefish device and client through Switchboard, each with the ICE servers Switchboard gave it. */
  | { kind: 'cuttlefish'; wsUrl: string; deviceId: string }
  /** Two peers signalled by direct calls, both with `iceServers`. */
  | { kind: 'direct'; iceServers: IceServer[] };

export type PeersJob = PeersTask & {
  /** Report not-opened after this long. */
  giveUpMs: number;
  /**
   * The loopback address the peers send from; give every child its own. coturn keeps an
   * allocation until it expires, and a peer that got the ephemeral port of an earlier
   * child's allocation from the same address would be refused (437 Mismatched allocation).
   */
  bindAddress: string;
};

export interface CandidateInfo {
  type: string;
  address: string;
  candidate: string;
}

export interface PeerReport {
  name: string;
  /** The ICE servers this peer used, as Switchboard handed them out (for `direct`: the job's). */
  iceServers: IceServer[];
  /** Every local candidate the peer gathered (and, for the Cuttlefish peers, trickled). */
  candidates: string[];
  iceState: string;
  state: string;
  /** Only once connected: asking earlier can block on the deadlock described above. */
  selectedPair: { local: CandidateInfo; remote: CandidateInfo } | null;
  /** What arrived over the data channel. */
  received: string | null;
}

export interface PeersReport {
  /** The data channel opened at both ends within `giveUpMs` (and each side then sent one message). */
  opened: boolean;
  peers: PeerReport[];
}

/** A relay-only PeerConnection and what the report needs to know about it. */
class RelayOnlyPeer {
  readonly name: string;
  readonly iceServers: IceServer[];
  readonly pc: PeerConnection;
  readonly candidates: string[] = [];
  readonly channel = deferred<DataChannel>();

  constructor(name: string, iceServers: IceServer[], bindAddress: string) {
    this.name = name;
    this.iceServers = iceServers;
    this.pc = new PeerConnection(name, { iceServers: toRtcIceServers(iceServers), iceTransportPolicy: 'relay', bindAddress });
  }

  report(connected: boolean, received: string | null): PeerReport {
    const pair = connected ? this.pc.getSelectedCandidatePair() : null;
    const info = (c: { type: string; address: string; candidate: string }): CandidateInfo => ({ type: c.type, address: c.address, candidate: c.candidate });
    return {
      name: this.name,
      iceServers: this.iceServers,
      candidates: this.candidates,
      iceState: this.pc.iceState(),
      state: this.pc.state(),
      selectedPair: pair ? { local: info(pair.local), remote: info(pair.remote) } : null,
      received,
    };
  }
}

/**
 * The device's side, as FakeDevice in fake-cuttlefish-device.ts but relay-only (FakeDevice
 * takes no RTC options) and for one client: it offers at the client's `request-offer`.
 */
class RelayOnlyDevice {
  readonly connector = new CuttlefishDeviceConnector();
  readonly #bindAddress: string;
  peer: RelayOnlyPeer | undefined;
  readonly ready = deferred<RelayOnlyPeer>();
  #iceServers: IceServer[] = [];
  #answered = false;
  /** The client's candidates that came before its answer. */
  readonly #queued: ClientIceCandidatePayload[] = [];
  /**
   * The device's own candidates, held until the answer is set: libdatachannel answers the
   * client's checks before that, and the client's DTLS hello then finds no fingerprint to
   * verify (libdatachannel issue #1390; see FakeDevice).
   */
  readonly #held: DeviceIceCandidatePayload[] = [];

  constructor(bindAddress: string) {
    this.#bindAddress = bindAddress;
  }

  async start(wsUrl: string, deviceId: string): Promise<void> {
    this.connector.onClientMessage((clientId, payload) => this.#onClientMessage(clientId, payload as ClientPayload));
    await this.connector.connect(wsUrl);
    const config = await this.connector.register(deviceId, { hardware: { cpus: 2 }, displays: [], audio_streams: [], touchpads: [] });
    this.#iceServers = config.ice_servers;
  }

  #onClientMessage(clientId: number, payload: ClientPayload): void {
    switch (payload.type) {
      case 'request-offer':
        return this.#offer(clientId);
      case 'answer':
        this.peer!.pc.setRemoteDescription(payload.sdp, 'answer');
        this.#answered = true;
        for (const candidate of this.#queued.splice(0)) this.#addCandidate(candidate);
        for (const candidate of this.#held.splice(0)) this.connector.sendToClient(clientId, candidate);
        return;
      case 'ice-candidate':
        if (this.#answered) this.#addCandidate(payload);
        else this.#queued.push(payload);
        return;
      default:
        this.ready.reject(new Error(`device: unexpected payload ${JSON.stringify(payload)}`));
    }
  }

  #offer(clientId: number): void {
    const peer = new RelayOnlyPeer('device', this.#iceServers, this.#bindAddress);
    this.peer = peer;
    const { pc } = peer;
    pc.onLocalDescription((sdp, type) => this.connector.sendToClient(clientId, { type: type as 'offer', sdp }));
    pc.onLocalCandidate((candidate, mid) => {
      peer.candidates.push(candidate);
      const message: DeviceIceCandidatePayload = {
        type: 'ice-candidate',
        mid,
        mLineIndex: mLineIndexOf(pc.localDescription()?.sdp ?? '', mid),
        candidate: candidate.replace(/^a=/, ''),
      };
      if (this.#answered) this.connector.sendToClient(clientId, message);
      else this.#held.push(message);
    });
    void opened(pc.createDataChannel('turn-e2e')).then((channel) => peer.channel.resolve(channel));
    this.ready.resolve(peer);
  }

  #addCandidate(payload: ClientIceCandidatePayload): void {
    this.peer!.pc.addRemoteCandidate(payload.candidate.candidate, payload.candidate.sdpMid ?? '0');
  }
}

/** The browser client's side (cf_webrtc.js), relay-only: asks for an offer, answers it. */
class RelayOnlyClient {
  readonly connector = new CuttlefishClientConnector();
  readonly #bindAddress: string;
  peer: RelayOnlyPeer | undefined;
  readonly ready = deferred<RelayOnlyPeer>();
  #iceServers: IceServer[] = [];
  readonly #queued: DeviceIceCandidatePayload[] = [];

  constructor(bindAddress: string) {
    this.#bindAddress = bindAddress;
  }

  async start(wsUrl: string, deviceId: string): Promise<void> {
    const { infraConfig } = await this.connector.connect(wsUrl, deviceId);
    this.#iceServers = infraConfig.ice_servers;
    this.connector.onDeviceMessage((payload) => this.#onDeviceMessage(payload as DevicePayload));
    this.connector.onError((text) => this.ready.reject(new Error(`client: server error ${text}`)));
    this.connector.sendToDevice({ type: 'request-offer', ice_servers: this.#iceServers });
  }

  #onDeviceMessage(payload: DevicePayload): void {
    switch (payload.type) {
      case 'offer': {
        const peer = new RelayOnlyPeer('client', this.#iceServers, this.#bindAddress);
        this.peer = peer;
        const { pc } = peer;
        pc.onLocalDescription((sdp, type) => this.connector.sendToDevice({ type: type as 'answer', sdp }));
        pc.onLocalCandidate((candidate, mid) => {
          peer.candidates.push(candidate);
          const message: ClientIceCandidatePayload = {
            type: 'ice-candidate',
            candidate: { candidate: candidate.replace(/^a=/, ''), sdpMid: mid, sdpMLineIndex: mLineIndexOf(pc.localDescription()?.sdp ?? '', mid) },
          };
          this.connector.sendToDevice(message);
        });
        pc.onDataChannel((channel) => void opened(channel).then((open) => peer.channel.resolve(open)));
        pc.setRemoteDescription(payload.sdp, 'offer');
        for (const candidate of this.#queued.splice(0)) pc.addRemoteCandidate(candidate.candidate, candidate.mid);
        this.ready.resolve(peer);
        return;
      }
      case 'ice-candidate':
        if (this.peer) this.peer.pc.addRemoteCandidate(payload.candidate, payload.mid);
        else this.#queued.push(payload);
        return;
      default:
        this.ready.reject(new Error(`client: unexpected payload ${JSON.stringify(payload)}`));
    }
  }
}

/** Two relay-only peers in this process, signalled by direct calls (two tabs of one page, say). */
function directPair(iceServers: IceServer[], bindAddress: string): [RelayOnlyPeer, RelayOnlyPeer] {
  const offerer = new RelayOnlyPeer('offerer', iceServers, bindAddress);
  const answerer = new RelayOnlyPeer('answerer', iceServers, bindAddress);
  // Candidates both ways wait until the offerer has the answer. The offerer's, for the reason
  // given at RelayOnlyDevice; the answerer's, because node-datachannel may report a candidate
  // before the description it belongs to, and a candidate added to a peer without a remote
  // description throws on node-datachannel's callback thread, which aborts the process.
  const held: { to: RelayOnlyPeer; candidate: string; mid: string }[] = [];
  const signal = (to: RelayOnlyPeer, candidate: string, mid: string): void => {
    if (offerer.pc.remoteDescription()) to.pc.addRemoteCandidate(candidate, mid);
    else held.push({ to, candidate, mid });
  };
  offerer.pc.onLocalDescription((sdp, type) => answerer.pc.setRemoteDescription(sdp, type));
  answerer.pc.onLocalDescription((sdp, type) => {
    offerer.pc.setRemoteDescription(sdp, type);
    for (const { to, candidate, mid } of held.splice(0)) to.pc.addRemoteCandidate(candidate, mid);
  });
  offerer.pc.onLocalCandidate((candidate, mid) => {
    offerer.candidates.push(candidate);
    signal(answerer, candidate, mid);
  });
  answerer.pc.onLocalCandidate((candidate, mid) => {
    answerer.candidates.push(candidate);
    signal(offerer, candidate, mid);
  });
  answerer.pc.onDataChannel((channel) => void opened(channel).then((open) => answerer.channel.resolve(open)));
  void opened(offerer.pc.createDataChannel('turn-e2e')).then((channel) => offerer.channel.resolve(channel));
  return [offerer, answerer];
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]).finally(() => clearTimeout(timer));
}

/** Connects the two peers, and if their channel opens, sends one message each way. */
async function talk(peers: RelayOnlyPeer[], giveUpMs: number): Promise<PeersReport> {
  const channels = await within(Promise.all(peers.map((peer) => peer.channel.promise)), giveUpMs);
  if (!channels) return { opened: false, peers: peers.map((peer) => peer.report(false, null)) };
  const arriving = channels.map((channel) => nextMessage(channel));
  channels.forEach((channel, i) => channel.sendMessage(`hello from ${peers[i]!.name}`));
  const received = await within(Promise.all(arriving), giveUpMs);
  return { opened: true, peers: peers.map((peer, i) => peer.report(true, received?.[i] ?? null)) };
}

async function run(job: PeersJob): Promise<{ report: PeersReport; close(): Promise<void> }> {
  if (job.kind === 'direct') {
    const peers = directPair(job.iceServers, job.bindAddress);
    return { report: await talk(peers, job.giveUpMs), close: async () => peers.forEach((peer) => peer.pc.close()) };
  }
  const device = new RelayOnlyDevice(job.bindAddress);
  const client = new RelayOnlyClient(job.bindAddress);
  await device.start(job.wsUrl, job.deviceId);
  await client.start(job.wsUrl, job.deviceId);
  const peers = await within(Promise.all([device.ready.promise, client.ready.promise]), job.giveUpMs);
  if (!peers) throw new Error('the device never offered, or the client never got the offer');
  return {
    report: await talk(peers, job.giveUpMs),
    async close() {
      peers.forEach((peer) => peer.pc.close());
      await client.connector.close();
      await device.connector.close();
    },
  };
}

if (import.meta.main) {
  const { report, close } = await run(JSON.parse(process.argv[2]!) as PeersJob);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  if (report.opened) {
    await close();
    // Stops node-datachannel's threads; without it the process never exits.
    cleanup();
  }
  // Otherwise leave the peers be: closing them may hang on the deadlock above, and the
  // parent, which has what it needs, kills this process.
}
