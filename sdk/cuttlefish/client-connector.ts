import type { ClientToServerMessage, ConfigMessage, ConnectMessage, IceServer, JsonValue } from './messages.ts';
import {
  BufferedListeners,
  CONNECTING,
  CuttlefishConnectorError,
  endpointUrl,
  Listeners,
  OPEN,
  openSocket,
  parseServerFrame,
  type ConnectorOptions,
  type DisconnectInfo,
  type WebSocketLike,
} from './socket.ts';

/** What `connect` resolves with; the shape of the real `server_connector.js`'s `requestDevice`. */
export interface DeviceConnection {
  /** The device's `device_info`, exactly as the device registered it. */
  deviceInfo: JsonValue;
  /** The `config` message: its `ice_servers` become the RTCPeerConnection's `iceServers`. */
  infraConfig: ConfigMessage;
}

export interface ClientConnectOptions {
  /**
   * Wait up to this long for a device that has not registered yet (Switchboard's
   * `switchboard_wait_ms`; the server caps it). Without it the server's default applies,
   * normally an immediate `Connection failed: Device not found: '<id>'`.
   */
  waitMs?: number;
}

/**
 * The client side of the Cuttlefish protocol (`/connect_client`), as the browser client
 * speaks it:
 *
 *     const client = new CuttlefishClientConnector();
 *     const { deviceInfo, infraConfig } = await client.connect(location.origin, 'cvd-1');
 *     client.onDeviceMessage((payload) => …);
 *     client.sendToDevice({ type: 'request-offer', ice_servers: infraConfig.ice_servers });
 *
 * One connector is one socket tied to one device. When the device goes, the server
 * sends `Device disconnected` (onError) and closes (onDisconnect); connect a new one.
 */
export class CuttlefishClientConnector {
  readonly #options: ConnectorOptions;
  #socket: WebSocketLike | undefined;
  #closed: Promise<DisconnectInfo> | undefined;
  #config: ConfigMessage | undefined;
  #connection: DeviceConnection | undefined;
  #pending: { resolve(connection: DeviceConnection): void; reject(error: Error): void } | undefined;
  #lastError: string | undefined;
  readonly #deviceMessages = new BufferedListeners<[payload: JsonValue]>();
  readonly #errors = new Listeners<[text: string]>();
  readonly #disconnects = new Listeners<[info: DisconnectInfo]>();

  constructor(options: ConnectorOptions = {}) {
    this.#options = options;
  }

  /** Set once `connect` resolved. */
  get connection(): DeviceConnection | undefined {
    return this.#connection;
  }

  /**
   * Connects to `deviceId` through the server at `url` (base or full `/connect_client`
   * URL); resolves after `config` and `device_info`. Rejects with the server's text, e.g.
   * `Connection failed: Device not found: '<id>'` (a CuttlefishConnectorError).
   */
  connect(url: string, deviceId: string, options: ClientConnectOptions = {}): Promise<DeviceConnection> {
    if (this.#socket) return Promise.reject(new Error('CuttlefishClientConnector: connect() called twice'));
    let settle!: (info: DisconnectInfo) => void;
    const closed = new Promise<DisconnectInfo>((resolve) => (settle = resolve));
    let opened: Promise<void>;
    try {
      const started = openSocket(endpointUrl(url, '/connect_client'), this.#options.WebSocket, {
        onText: (data) => this.#onFrame(data),
        onClose: (code, reason) => {
          const info: DisconnectInfo = { code, reason, ...(this.#lastError === undefined ? {} : { error: this.#lastError }) };
          this.#fail(new CuttlefishConnectorError(this.#lastError ?? `Socket closed before device_info (code ${code})`, this.#lastError));
          settle(info);
          this.#disconnects.emit(info);
        },
      });
      this.#socket = started.socket;
      opened = started.opened;
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closed = closed;
    const result = new Promise<DeviceConnection>((resolve, reject) => (this.#pending = { resolve, reject }));
    opened.then(
      () => {
        const message: ConnectMessage = { message_type: 'connect', device_id: deviceId };
        if (options.waitMs !== undefined) message.switchboard_wait_ms = options.waitMs;
        this.#send(message);
      },
      (error: Error) => this.#fail(error),
    );
    return result;
  }

  /** Relays `payload` to the device (as the device's `client_msg`). */
  sendToDevice(payload: JsonValue): void {
    if (!this.#connection) throw new Error('CuttlefishClientConnector: not connected to a device');
    // The server closes the socket on a forward without payload; refuse here instead.
    if (payload === undefined) throw new TypeError('payload is required');
    this.#send({ message_type: 'forward', payload });
  }

  /** A device payload. Payloads that arrive before the first callback is added are held for it. */
  onDeviceMessage(callback: (payload: JsonValue) => void): () => void {
    return this.#deviceMessages.add(callback);
  }

  /** The server's error texts (`Device disconnected`, `Forward failed: …`) and protocol violations. */
  onError(callback: (text: string) => void): () => void {
    return this.#errors.add(callback);
  }

  /** The socket has closed; `info.error` is the server's last error text, if it sent one. */
  onDisconnect(callback: (info: DisconnectInfo) => void): () => void {
    return this.#disconnects.add(callback);
  }

  /** Closes the socket (the device gets `client_disconnected`); resolves once it is closed. */
  async close(): Promise<DisconnectInfo | undefined> {
    if (!this.#closed) return undefined;
    const state = this.#socket?.readyState;
    if (state === OPEN || state === CONNECTING) this.#socket!.close(1000, 'client closing');
    return this.#closed;
  }

  #send(message: ClientToServerMessage): void {
    if (this.#socket?.readyState !== OPEN) throw new Error('CuttlefishClientConnector: socket is not open');
    this.#socket.send(JSON.stringify(message));
  }

  #fail(error: Error): void {
    this.#pending?.reject(error);
    this.#pending = undefined;
  }

  #onFrame(data: unknown): void {
    const frame = parseServerFrame(data);
    if (!frame) return this.#errors.emit(`Unexpected frame from server: ${String(data).slice(0, 200)}`);
    if (typeof frame.error === 'string') {
      this.#lastError = frame.error;
      // Any error before device_info means the connect failed (the server closes next).
      this.#fail(new CuttlefishConnectorError(frame.error, frame.error));
      this.#errors.emit(frame.error);
      return;
    }
    switch (frame.message_type) {
      case 'config':
        if (!this.#config && Array.isArray(frame.ice_servers)) {
          this.#config = { message_type: 'config', ice_servers: frame.ice_servers as IceServer[] };
          return;
        }
        break;
      case 'device_info':
        // `config` strictly precedes `device_info`; the server guarantees it, we rely on it.
        if (this.#pending && this.#config && 'device_info' in frame) {
          this.#connection = { deviceInfo: frame.device_info as JsonValue, infraConfig: this.#config };
          this.#pending.resolve(this.#connection);
          this.#pending = undefined;
          return;
        }
        break;
      case 'device_msg':
        if (this.#connection && 'payload' in frame) return this.#deviceMessages.emit(frame.payload as JsonValue);
        break;
    }
    this.#errors.emit(`Unexpected message from server: ${String(data).slice(0, 200)}`);
  }
}

/**
 * The interface of the real Cuttlefish client's `server_connector.js`, on top of
 * CuttlefishClientConnector, so the stock client page (`cf_webrtc.js`) can run against
 * Switchboard with a one-file shim. Over a WebSocket messages are pushed, so
 * `expectMessagesSoon` (a polling hint) has nothing to do.
 */
export interface ServerConnector {
  requestDevice(deviceId: string): Promise<DeviceConnection>;
  sendToDevice(message: JsonValue): void;
  onDeviceMsg(callback: (message: JsonValue) => void): void;
  expectMessagesSoon(durationMs: number): void;
  /** Not in the original; lets a page end the session deliberately. */
  close(): Promise<DisconnectInfo | undefined>;
}

export function createServerConnector(url: string, options: ConnectorOptions & ClientConnectOptions = {}): ServerConnector {
  const connector = new CuttlefishClientConnector(options);
  const connectOptions: ClientConnectOptions = options.waitMs === undefined ? {} : { waitMs: options.waitMs };
  return {
    requestDevice: (deviceId) => connector.connect(url, deviceId, connectOptions),
    sendToDevice: (message) => connector.sendToDevice(message),
    onDeviceMsg: (callback) => void connector.onDeviceMessage(callback),
    expectMessagesSoon: () => {},
    close: () => connector.close(),
  };
}
