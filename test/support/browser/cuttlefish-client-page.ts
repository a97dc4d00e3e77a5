/**
 * The browser end of cuttlefish-browser.test.ts. It runs in Chromium, served by the
 * Switchboard node with its types stripped, and behaves like the real Cuttlefish client
 * (cf_webrtc.js) on the SDK's client connector: it connects to the device named by
 * `?device=`, asks for an offer, answers it, trickles candidates both ways and takes the
 * data channel the device opens. The test drives it through `window.cuttlefishClient`.
 *
 * Any failure is thrown as an uncaught error, so that the test sees it as a page error
 * and fails at once with its text instead of timing out.
 */
import { CuttlefishClientConnector, type DevicePayload, type IceServer, type JsonValue } from '../../../sdk/cuttlefish/index.ts';

/** What the page offers the test. */
export interface BrowserClient {
  /** Resolves with the data channel's label once it is open. */
  readonly channelOpen: Promise<string>;
  /** Resolves with the first text the device sends over the data channel. */
  readonly firstMessage: Promise<string>;
  /** The device's payload types, in arrival order. */
  readonly received: string[];
  /** The `candidate` lines of the candidates this page sent to the device. */
  readonly candidatesSent: string[];
  send(text: string): void;
  /** Ends the session as a page does when the user disconnects: peer connection, then socket. */
  close(): Promise<void>;
}

export interface ClientWindow {
  cuttlefishClient: BrowserClient;
}

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

/** Reported as uncaught, so the test gets it as a page error (see above). */
function fail(error: unknown): void {
  reportError(error);
}

const connector = new CuttlefishClientConnector();
const channelOpen = deferred<string>();
const firstMessage = deferred<string>();
const received: string[] = [];
const candidatesSent: string[] = [];
let pc: RTCPeerConnection | undefined;
let channel: RTCDataChannel | undefined;

(window as unknown as ClientWindow).cuttlefishClient = {
  channelOpen: channelOpen.promise,
  firstMessage: firstMessage.promise,
  received,
  candidatesSent,
  send(text) {
    if (channel?.readyState !== 'open') throw new Error('the data channel is not open');
    channel.send(text);
  },
  async close() {
    pc?.close();
    await connector.close();
  },
};

async function onDeviceMessage(payload: DevicePayload, iceServers: IceServer[]): Promise<void> {
  received.push(payload.type);
  console.info(`cuttlefish client: device sent ${payload.type}`);
  switch (payload.type) {
    case 'offer': {
      pc = new RTCPeerConnection({ iceServers });
      const peer = pc;
      peer.onicecandidate = ({ candidate }) => {
        // null (in older Chromium also an empty candidate) only marks the end of gathering.
        if (!candidate?.candidate) return;
        candidatesSent.push(candidate.candidate);
        // The RTCIceCandidate's JSON, exactly what the real client's JSON.stringify sends.
        connector.sendToDevice({ type: 'ice-candidate', candidate: candidate.toJSON() as JsonValue });
      };
      peer.onconnectionstatechange = () => {
        console.info(`cuttlefish client: peer connection ${peer.connectionState}`);
        if (peer.connectionState === 'failed') fail(new Error('the RTCPeerConnection failed (ICE or DTLS)'));
      };
      peer.ondatachannel = ({ channel: opened }) => {
        channel = opened;
        opened.onmessage = ({ data }) => firstMessage.resolve(String(data));
        if (opened.readyState === 'open') channelOpen.resolve(opened.label);
        else opened.onopen = () => channelOpen.resolve(opened.label);
      };
      await peer.setRemoteDescription({ type: 'offer', sdp: payload.sdp });
      await peer.setLocalDescription(await peer.createAnswer());
      connector.sendToDevice({ type: 'answer', sdp: peer.localDescription!.sdp });
      return;
    }
    case 'ice-candidate':
      if (!pc) throw new Error('the device sent a candidate before its offer');
      await pc.addIceCandidate({ candidate: payload.candidate, sdpMid: payload.mid, sdpMLineIndex: payload.mLineIndex });
      return;
    default:
      throw new Error(`unexpected payload from the device: ${JSON.stringify(payload)}`);
  }
}

async function start(): Promise<void> {
  const deviceId = new URLSearchParams(location.search).get('device');
  if (!deviceId) throw new Error('the page URL names no ?device=');
  const { infraConfig } = await connector.connect(location.origin, deviceId);
  console.info(`cuttlefish client: connected to ${deviceId}, ice_servers ${JSON.stringify(infraConfig.ice_servers)}`);
  connector.onError((text) => fail(new Error(`server error: ${text}`)));
  // One payload at a time, as the real client does: a candidate waits while the offer is applied.
  let handling = Promise.resolve();
  connector.onDeviceMessage((payload) => {
    handling = handling.then(() => onDeviceMessage(payload as DevicePayload, infraConfig.ice_servers)).catch(fail);
  });
  connector.sendToDevice({ type: 'request-offer', ice_servers: infraConfig.ice_servers });
}

start().catch(fail);
