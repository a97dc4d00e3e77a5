import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { memberSource } from '../../core/json-members.ts';
import { BodyTooLargeError, readBody, sendJsonText } from '../../transport/http-router.ts';
import type { DialectContext } from '../dialect.ts';
import type { DeviceDirectory } from './device-directory.ts';
import { DeviceLink } from './device-link.ts';
import { CuttlefishHttpError, type CuttlefishHttpErrorCode } from './errors.ts';
import { ToDevice } from './relay-protocol.ts';
import { payloadText } from './wire.ts';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const metaKey = (id: string) => `cuttlefish:poll:${id}`;
const queueKey = (id: string) => `cuttlefish:poll:${id}:queue`;
const GONE = 'gone';

/** 64 alphanumerics, as the reference operator issues them. */
export function newConnectionId(): string {
  const bytes = randomBytes(64);
  let id = '';
  // 248 = 4 × 62: rejecting bytes ≥ 248 keeps every character equally likely.
  for (let i = 0; id.length < 64; i++) {
    if (i === bytes.length) return id + newConnectionId().slice(id.length);
    if (bytes[i]! < 248) id += ALPHANUMERIC[bytes[i]! % 62];
  }
  return id;
}

/**
 * HTTP polling clients (`/connect`, `/forward`, `/poll_messages`) for networks without
 * WebSocket. A connection's record and queue live in State, so any node can serve its
 * requests (no sticky sessions); its DeviceLink mailbox lives on the node that created it,
 * which fills the queue and ends the connection when it has been idle for too long.
 */
export class PollingClients {
  readonly #context: DialectContext;
  readonly #directory: DeviceDirectory;
  readonly #local = new Map<string, DeviceLink>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(context: DialectContext, directory: DeviceDirectory) {
    this.#context = context;
    this.#directory = directory;
  }

  start(): void {
    const idle = this.#context.config['cuttlefish.pollIdleMs'];
    this.#sweeper = setInterval(() => void this.#sweep(), Math.max(10, Math.floor(idle / 4)));
    this.#sweeper.unref();
  }

  stop(): void {
    clearInterval(this.#sweeper);
    for (const link of this.#local.values()) link.close();
    this.#local.clear();
  }

  connect = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await this.#body(request, response);
    if (!body) return;
    const deviceId = body.message.device_id;
    if (typeof deviceId !== 'string' || deviceId === '') return this.#error(response, 'BAD_REQUEST_DEVICE_ID');
    const connectionId = newConnectionId();
    const { state, config, metrics } = this.#context;
    const idleMs = config['cuttlefish.pollIdleMs'];
    const link = new DeviceLink(this.#context.router, this.#directory, `cf-p${connectionId}`, {
      onDeviceMessage: (payload) => {
        void state.push(queueKey(connectionId), payloadText(payload), config['cuttlefish.pollQueueLimit'], idleMs * 2).then((queued) => {
          if (!queued) metrics.error('POLL_QUEUE_FULL');
        });
      },
      onDeviceGone: () => void state.set(metaKey(connectionId), GONE, idleMs),
    });
    const deviceInfoSource = await link.attach(deviceId);
    if (deviceInfoSource === undefined) {
      link.close();
      return this.#error(response, 'DEVICE_NOT_FOUND');
    }
    this.#local.set(connectionId, link);
    metrics.connections++;
    await state.set(metaKey(connectionId), `${link.deviceAddress}\n${link.address}`, idleMs);
    sendJsonText(response, 200, `{"connection_id":"${connectionId}","message_type":"device_info","device_info":${deviceInfoSource}}`);
  };

  forward = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await this.#body(request, response);
    if (!body) return;
    const connection = await this.#connection(body.message, response);
    if (!connection) return;
    if (body.message.payload === undefined) return this.#error(response, 'BAD_REQUEST_PAYLOAD');
    const [deviceAddress, clientAddress] = connection;
    const link = this.#local.get(body.message.connection_id as string);
    const originAt = performance.timeOrigin + performance.now();
    const payloadSource = memberSource(body.text, 'payload')!;
    if (link) link.forward(payloadSource, originAt);
    else this.#context.router.send(deviceAddress, ToDevice.message(clientAddress, payloadSource), originAt);
    await this.#reply(body.message.connection_id as string, response);
  };

  pollMessages = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const body = await this.#body(request, response);
    if (!body) return;
    if (!(await this.#connection(body.message, response))) return;
    await this.#reply(body.message.connection_id as string, response);
  };

  async #reply(connectionId: string, response: ServerResponse): Promise<void> {
    const queued = await this.#context.state.drain(queueKey(connectionId));
    sendJsonText(response, 200, `[${queued.join(',')}]`);
  }

  /** The connection's [deviceAddress, clientAddress], its idle timer re-armed; or an error reply. */
  async #connection(message: Record<string, unknown>, response: ServerResponse): Promise<[string, string] | undefined> {
    const connectionId = message.connection_id;
    if (typeof connectionId !== 'string' || connectionId === '') return void this.#error(response, 'BAD_REQUEST_CONNECTION_ID');
    const { state, config } = this.#context;
    const record = await state.get(metaKey(connectionId));
    if (record === null) return void this.#error(response, 'UNKNOWN_CONNECTION');
    if (record === GONE) return void this.#error(response, 'DEVICE_DISCONNECTED');
    await state.set(metaKey(connectionId), record, config['cuttlefish.pollIdleMs']);
    const newline = record.indexOf('\n');
    return [record.slice(0, newline), record.slice(newline + 1)];
  }

  async #body(request: IncomingMessage, response: ServerResponse): Promise<{ text: string; message: Record<string, unknown> } | undefined> {
    let text: string;
    try {
      text = await readBody(request, this.#context.config['cuttlefish.maxMessageBytes']);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return void this.#error(response, 'BODY_TOO_LARGE');
      throw error;
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return void this.#error(response, 'BAD_REQUEST_JSON');
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return void this.#error(response, 'BAD_REQUEST_JSON');
    return { text, message: message as Record<string, unknown> };
  }

  #error(response: ServerResponse, code: CuttlefishHttpErrorCode): void {
    this.#context.metrics.error(code);
    const { status, text } = CuttlefishHttpError[code];
    sendJsonText(response, status, JSON.stringify({ type: 'error', error: text }));
  }

  /** Ends local polling connections nobody has asked about for `pollIdleMs`. */
  async #sweep(): Promise<void> {
    for (const [connectionId, link] of this.#local) {
      const record = await this.#context.state.get(metaKey(connectionId)).catch(() => '');
      if (record !== null && record !== GONE) continue;
      this.#local.delete(connectionId);
      this.#context.metrics.connections--;
      link.close();
      await this.#context.state.delete(queueKey(connectionId)).catch(() => false);
    }
  }
}
