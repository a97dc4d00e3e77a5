/**
 * The browser end of mobz-browser.test.ts: one member of a mobz `p2p` room, in Chromium,
 * on the SDK's browser entry (the global WebSocket, `online`/`offline` from `window`),
 * served by the Switchboard node with its types stripped. Through the SDK's OFFER, ANSWER
 * and ICE signals it negotiates a real RTCPeerConnection with the other member and talks
 * over a data channel. The test drives it through `window.mobzRoom`.
 *
 * Any failure is thrown as an uncaught error, so that the test sees it as a page error
 * and fails at once with its text instead of timing out.
 */
import { MobzRoomClient, type ForwardedSignal, type IceServer, type MobzRoomClientOptions, type Role, type RoomState, type StateChange } from '../../../sdk/mobz/index.ts';

/** The client's options the test chooses; the page fixes the rest (server, channel, browser defaults). */
export type MemberOptions = Omit<MobzRoomClientOptions, 'url' | 'ch' | 'WebSocket' | 'network' | 'fragmentFrames'>;

/** What the page offers the test. */
export interface RoomMember {
  /** Joins the room on the page's own server; resolves with the role the JOIN ack gives. */
  join(options: MemberOptions): Promise<Role>;
  readonly state: RoomState | undefined;
  /** Every state change of the client, from its first. */
  readonly states: StateChange[];
  /** Signals in the order sent and received: `OFFER`, `ANSWER`, `ICE <the candidate's JSON>`. */
  readonly sent: string[];
  readonly received: string[];
  /** Opens the data channel and offers, as the callee of MobZ's p2p flow does. */
  call(): Promise<void>;
  /** `complete` once the peer connection has sent its last candidate. */
  readonly iceGathering: RTCIceGatheringState | undefined;
  /** Resolves with the data channel's label once it is open. */
  readonly channelOpen: Promise<string>;
  /** Texts that came over the data channel, in order. */
  readonly messages: string[];
  send(text: string): void;
  /** Sends an ICE signal without a local candidate behind it (the peer adds it like any other). */
  sendCandidate(candidate: RTCIceCandidateInit): void;
}

export interface RoomWindow {
  mobzRoom: RoomMember;
}

/** Reported as uncaught, so the test gets it as a page error (see above). */
function fail(error: unknown): void {
  reportError(error);
}

let client: MobzRoomClient | undefined;
let pc: RTCPeerConnection | undefined;
let channel: RTCDataChannel | undefined;
let iceServers: IceServer[] = [];
let resolveOpen!: (label: string) => void;
const channelOpen = new Promise<string>((resolve) => (resolveOpen = resolve));
const states: StateChange[] = [];
const sent: string[] = [];
const received: string[] = [];
const messages: string[] = [];

function joinedClient(): MobzRoomClient {
  if (!client) throw new Error('the page has not joined a room');
  return client;
}

function sendCandidate(candidate: RTCIceCandidateInit): void {
  const text = JSON.stringify(candidate);
  sent.push(`ICE ${text}`);
  joinedClient().ice(text);
}

function useChannel(opened: RTCDataChannel): void {
  channel = opened;
  opened.onmessage = ({ data }) => messages.push(String(data));
  if (opened.readyState === 'open') resolveOpen(opened.label);
  else opened.onopen = () => resolveOpen(opened.label);
}

function peer(): RTCPeerConnection {
  if (pc) return pc;
  const created = new RTCPeerConnection({ iceServers });
  // Both ends are browsers, so candidates trickle at once (no hold as for libdatachannel).
  created.onicecandidate = ({ candidate }) => {
    // null (in older Chromium also an empty candidate) only marks the end of gathering.
    if (candidate?.candidate) sendCandidate(candidate.toJSON());
  };
  created.onconnectionstatechange = () => {
    console.info(`mobz member: peer connection ${created.connectionState}`);
    if (created.connectionState === 'failed') fail(new Error('the RTCPeerConnection failed (ICE or DTLS)'));
  };
  created.ondatachannel = ({ channel: opened }) => useChannel(opened);
  pc = created;
  return created;
}

async function onSignal(signal: ForwardedSignal): Promise<void> {
  switch (signal.s) {
    case 'OFFER': {
      received.push('OFFER');
      const answerer = peer();
      await answerer.setRemoteDescription({ type: 'offer', sdp: signal.sdp });
      await answerer.setLocalDescription(await answerer.createAnswer());
      sent.push('ANSWER');
      joinedClient().answer(answerer.localDescription!.sdp);
      return;
    }
    case 'ANSWER':
      received.push('ANSWER');
      await peer().setRemoteDescription({ type: 'answer', sdp: signal.sdp });
      return;
    case 'ICE':
      received.push(`ICE ${signal.sdp}`);
      await peer().addIceCandidate(JSON.parse(signal.sdp) as RTCIceCandidateInit);
      return;
    default:
      throw new Error(`unexpected signal in a p2p call: ${JSON.stringify(signal)}`);
  }
}

(window as unknown as RoomWindow).mobzRoom = {
  async join(options) {
    if (client) throw new Error('the page joins one room only');
    client = new MobzRoomClient({ ...options, url: location.origin, ch: 'p2p' });
    client.on('state', (change) => states.push(change));
    // One signal at a time, as a real app would: candidates wait while the offer is applied.
    let handling = Promise.resolve();
    client.on('signal', (signal) => void (handling = handling.then(() => onSignal(signal)).catch(fail)));
    client.on('errorAck', (ack) => fail(new Error(`error ack: ${JSON.stringify(ack)}`)));
    const ack = await client.join();
    iceServers = ack.es.icfg?.servers ?? [];
    return ack.pt;
  },
  get state() {
    return client?.state;
  },
  states,
  sent,
  received,
  async call() {
    const offerer = peer();
    useChannel(offerer.createDataChannel('mobz-browser-e2e'));
    await offerer.setLocalDescription(await offerer.createOffer());
    sent.push('OFFER');
    joinedClient().offer(offerer.localDescription!.sdp);
  },
  get iceGathering() {
    return pc?.iceGatheringState;
  },
  channelOpen,
  messages,
  send(text) {
    if (channel?.readyState !== 'open') throw new Error('the data channel is not open');
    channel.send(text);
  },
  sendCandidate,
};
