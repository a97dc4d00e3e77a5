import type { ConfigMessage, DeviceToServerMessage, IceServer, JsonValue } from './messages.ts';
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

/**
 * The device side of the Cuttlefish protocol (`/register_device`), as a Cuttlefish
 * device's streamer speaks it:
 *
 *     const device = new CuttlefishDeviceConnector();
 *     device.onClientMessage((clientId, payload) => …);
 *     await device.connect('ws://switchboard:8080');
 *     const config = await device.register('cvd-1', { hardware: {} });
 *     device.sendToClient(1, { type: 'offer', sdp });
 *
 * One connector is one socket and one registration; to re-register, make a new one.
 */
export class CuttlefishDeviceConnector {
  readonly #options: ConnectorOptions;
  #socket: WebSocketLike | undefined;
  #deviceId: string | undefined;
  #config: ConfigMessage | undefined;
  #pending: { resolve(config: ConfigMessage): void; reject(error: Error): void } | undefined;
  #lastError: string | undefined;
  #closed: Promise<DisconnectInfo> | undefined;
  readonly #clientMessages = new BufferedListeners<[clientId: number, payload: JsonValue]>();
  readonly #clientGone = new BufferedListeners<[clientId: number]>();
  readonly #errors = new Listeners<[text: string]>();
  readonly #disconnects = new Listeners<[info: DisconnectInfo]>();

  constructor(options: ConnectorOptions = {}) {
    this.#options = options;
  }

  /** The id this connector registered, once `register` resolved. */
  get deviceId(): string | undefined {
    return this.#config ? this.#deviceId : undefined;
  }

  /** The config the server sent at registration (ICE servers for the device's peers). */
  get config(): ConfigMessage | undefined {
    return this.#config;
  }

  /** Opens the socket. `url` is the server base or the full `/register_device` URL. */
  async connect(url: string): Promise<void> {
    if (this.#socket || this.#closed) throw new Error('CuttlefishDeviceConnector: connect() called twice');
    let settle!: (info: DisconnectInfo) => void;
    const closed = new Promise<DisconnectInfo>((resolve) => (settle = resolve));
    const { socket, opened } = openSocket(endpointUrl(url, '/register_device'), this.#options.WebSocket, {
      onText: (data) => this.#onFrame(data),
      onClose: (code, reason) => {
        const info: DisconnectInfo = { code, reason, ...(this.#lastError === undefined ? {} : { error: this.#lastError }) };
        this.#pending?.reject(new CuttlefishConnectorError(this.#lastError ?? `Socket closed before config (code ${code})`, this.#lastError));
        this.#pending = undefined;
        settle(info);
        this.#disconnects.emit(info);
      },
    });
    // Only now, so that a constructor that throws leaves the connector unused.
    this.#socket = socket;
    this.#closed = closed;
    await opened;
  }

  /**
   * Registers as `deviceId`; resolves with the server's config. Rejects with the server's
   * text, e.g. `Device id already taken: <id>` (the socket is then closed).
   * `extra` is merged into the register message, for fields real devices send
   * (`device_port`, …) that the server ignores.
   */
  register(deviceId: string, deviceInfo: JsonValue, extra: Record<string, JsonValue> = {}): Promise<ConfigMessage> {
    if (this.#pending || this.#config) return Promise.reject(new Error('CuttlefishDeviceConnector: register() called twice'));
    try {
      this.#send({ ...extra, message_type: 'register', device_id: deviceId, device_info: deviceInfo });
    } catch (error) {
      return Promise.reject(error);
    }
    this.#deviceId = deviceId;
    return new Promise<ConfigMessage>((resolve, reject) => (this.#pending = { resolve, reject }));
  }

  /** Relays `payload` to one client. The server answers an unknown id with an error (see onError). */
  sendToClient(clientId: number, payload: JsonValue): void {
    if (!this.#config) throw new Error('CuttlefishDeviceConnector: not registered');
    // The server closes the socket on a missing payload or a non-integer id; refuse here instead.
    if (!Number.isSafeInteger(clientId)) throw new TypeError(`client id must be an integer, got ${clientId}`);
    if (payload === undefined) throw new TypeError('payload is required');
    this.#send({ message_type: 'forward', client_id: clientId, payload });
  }

  /** A client's payload. Messages that arrive before the first callback is added are held for it. */
  onClientMessage(callback: (clientId: number, payload: JsonValue) => void): () => void {
    return this.#clientMessages.add(callback);
  }

  /**
   * A client has gone: drop its peer connection. Held back like onClientMessage; subscribe
   * to both before `register` if their relative order matters (each holds its own queue).
   */
  onClientDisconnected(callback: (clientId: number) => void): () => void {
    return this.#clientGone.add(callback);
  }

  /**
   * The server's error texts (e.g. `Forward failed: Unknown client 7`), and protocol
   * violations by the server. Errors that end the registration are followed by onDisconnect.
   */
  onError(callback: (text: string) => void): () => void {
    return this.#errors.add(callback);
  }

  /** The socket has closed, by either side. */
  onDisconnect(callback: (info: DisconnectInfo) => void): () => void {
    return this.#disconnects.add(callback);
  }

  /** Closes the socket (the server then unregisters the device); resolves once it is closed. */
  async close(): Promise<DisconnectInfo | undefined> {
    if (!this.#closed) return undefined;
    const state = this.#socket?.readyState;
    if (state === OPEN || state === CONNECTING) this.#socket!.close(1000, 'device closing');
    return this.#closed;
  }

  #send(message: DeviceToServerMessage): void {
    if (this.#socket?.readyState !== OPEN) throw new Error('CuttlefishDeviceConnector: socket is not open');
    this.#socket.send(JSON.stringify(message));
  }

  #onFrame(data: unknown): void {
    const frame = parseServerFrame(data);
    if (!frame) return this.#errors.emit(`Unexpected frame from server: ${String(data).slice(0, 200)}`);
    if (typeof frame.error === 'string') {
      this.#lastError = frame.error;
      // Any error before the config means the registration failed (the server closes next).
      this.#pending?.reject(new CuttlefishConnectorError(frame.error, frame.error));
      this.#pending = undefined;
      this.#errors.emit(frame.error);
      return;
    }
    switch (frame.message_type) {
      case 'config':
        if (this.#pending && Array.isArray(frame.ice_servers)) {
          this.#config = { message_type: 'config', ice_servers: frame.ice_servers as IceServer[] };
          this.#pending.resolve(this.#config);
          this.#pending = undefined;
          return;
        }
        break;
      case 'client_msg':
        if (Number.isSafeInteger(frame.client_id) && 'payload' in frame) {
          return this.#clientMessages.emit(frame.client_id as number, frame.payload as JsonValue);
        }
        break;
      case 'client_disconnected':
        if (Number.isSafeInteger(frame.client_id)) return this.#clientGone.emit(frame.client_id as number);
        break;
    }
    this.#errors.emit(`Unexpected message from server: ${String(data).slice(0, 200)}`);
  }
}
