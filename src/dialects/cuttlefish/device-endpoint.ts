import type { IncomingMessage } from 'node:http';
import { wallClockMs } from '../../core/clock.ts';
import { memberSource, standalone } from '../../core/json-members.ts';
import { nodeOf, type Address, type Mailbox } from '../../core/message-router.ts';
import { SerialExecutor } from '../../core/serial-executor.ts';
import type { Connection, ConnectionHandler } from '../../transport/connection.ts';
import type { DialectContext } from '../dialect.ts';
import { ClientTable } from './client-table.ts';
import { DeviceDirectory } from './device-directory.ts';
import { sendError, type CuttlefishErrorCode } from './errors.ts';
import { relayPayload, ToClient, type PayloadSink } from './relay-protocol.ts';
import { CuttlefishSocketEndpoint } from './socket-endpoint.ts';
import { clientDisconnectedFrame, clientMessageHead, configFrame, parseFrame, quickForward, sendEnveloped, type PayloadSource } from './wire.ts';

/** `/register_device`: device sockets, and the table of each device's clients. */
export class DeviceEndpoint extends CuttlefishSocketEndpoint {
  readonly path = '/register_device';
  readonly #directory: DeviceDirectory;
  readonly #registered = new Set<DeviceSocket>();

  constructor(context: DialectContext, directory: DeviceDirectory) {
    super(context);
    this.#directory = directory;
  }

  accept(connection: Connection, _request: IncomingMessage): ConnectionHandler {
    return new DeviceSocket(connection, this.context, this.#directory, this.#registered);
  }

  /** Renews every local device's lease and drops clients whose node died. */
  protected async upkeep(): Promise<void> {
    const alive = new Map<string, Promise<boolean>>();
    const isAlive = (node: string) => {
      let answer = alive.get(node);
      if (!answer) alive.set(node, (answer = this.context.liveness.isAlive(node).catch(() => true)));
      return answer;
    };
    await Promise.all(
      [...this.#registered].map(async (device) => {
        try {
          await device.renewLease();
          await device.dropClientsOnDeadNodes(isAlive);
        } catch (error) {
          this.context.log.warn({ err: error, deviceId: device.deviceId }, 'device lease upkeep failed');
        }
      }),
    );
  }
}

const NO_CLIENTS = new ClientTable();

class DeviceSocket implements ConnectionHandler, Mailbox, PayloadSink {
  deviceId = '';
  readonly #connection: Connection;
  readonly #context: DialectContext;
  readonly #directory: DeviceDirectory;
  readonly #registered: Set<DeviceSocket>;
  readonly #executor: SerialExecutor;
  readonly #mailbox: string;
  #address: Address = '';
  #phase: 'new' | 'registering' | 'registered' | 'closed' = 'new';
  #token = '';
  #deviceInfoSource = 'null';
  /** Made with the first client: most registered devices sit idle, and idle memory counts. */
  #clientTable: ClientTable | undefined;

  constructor(connection: Connection, context: DialectContext, directory: DeviceDirectory, registered: Set<DeviceSocket>) {
    this.#connection = connection;
    this.#context = context;
    this.#directory = directory;
    this.#registered = registered;
    this.#mailbox = `cf-d${connection.id}`;
    this.#executor = new SerialExecutor(this);
  }

  get #clients(): ClientTable {
    return this.#clientTable ?? NO_CLIENTS;
  }

  onText(data: Buffer, receivedAt: number): void {
    if (this.#phase === 'registered' && this.#executor.idle && this.#relayQuickly(data, receivedAt)) return;
    const text = data.toString();
    this.#executor.runWith(this.#handle, this, text, receivedAt);
  }

  taskFailed(error: unknown): void {
    this.#context.log.error({ err: error }, 'cuttlefish device handler failed');
    this.#connection.close(1011, 'internal error');
  }

  onBinary(): void {
    this.#executor.run(() => this.#fail('BINARY_MESSAGE'));
  }

  /**
   * The hot path: a well-formed forward to a client this device has. False leaves the frame
   * to #handle, which has every rule and error of the spec.
   */
  #relayQuickly(data: Buffer, receivedAt: number): boolean {
    const payload = quickForward.read(data);
    if (payload === undefined || quickForward.clientId < 0) return false;
    const client = this.#clients.addressOf(quickForward.clientId);
    if (client === undefined) return false;
    relayPayload(this.#context.router, client, this.#address, payload, performance.timeOrigin + receivedAt, ToClient.message);
    return true;
  }

  #handle(text: string, receivedAt: number): void | Promise<void> {
    if (this.#phase === 'closed') return;
    const frame = parseFrame(text);
    if (!frame.ok) return this.#fail(frame.error, frame.detail);
    const { message } = frame;
    switch (frame.type) {
      case 'register':
        return this.#register(message, text);
      case 'forward':
        return this.#forward(message, text, receivedAt);
      default:
        return this.#fail('UNKNOWN_MESSAGE_TYPE', frame.type);
    }
  }

  async #register(message: Record<string, unknown>, text: string): Promise<void> {
    if (this.#phase !== 'new') return this.#fail('DEVICE_ALREADY_REGISTERED', this.deviceId);
    const deviceId = message.device_id;
    if (typeof deviceId !== 'string' || deviceId === '') return this.#fail('MISSING_DEVICE_ID');
    this.#phase = 'registering';
    this.deviceId = deviceId;
    // A copy, not a slice: a slice would keep the whole register frame alive as long as the device.
    this.#deviceInfoSource = standalone(memberSource(text, 'device_info') ?? 'null');
    this.#address = this.#context.router.register(this.#mailbox, this);
    this.#token = DeviceDirectory.token({ address: this.#address, deviceInfoSource: this.#deviceInfoSource });
    const claimed = await this.#directory.claim(deviceId, this.#token);
    if (!claimed) {
      this.#context.router.unregister(this.#mailbox);
      return this.#fail('DEVICE_ID_TAKEN', deviceId);
    }
    if ((this.#phase as string) === 'closed') {
      // The socket went away while the claim was in flight.
      await this.#directory.release(deviceId, this.#token);
      this.#context.router.unregister(this.#mailbox);
      return;
    }
    this.#phase = 'registered';
    this.#registered.add(this);
    this.#connection.send(configFrame(this.#context.ice.iceServers(`cf-device-${deviceId}`)));
    this.#context.log.debug({ deviceId }, 'device registered');
  }

  #forward(message: Record<string, unknown>, text: string, receivedAt: number): void {
    if (this.#phase !== 'registered') return this.#fail('FORWARD_DEVICE_NOT_REGISTERED');
    const clientId = message.client_id;
    if (!Number.isSafeInteger(clientId)) return this.#fail('FORWARD_INVALID_CLIENT_ID');
    if (message.payload === undefined) return this.#fail('FORWARD_MISSING_PAYLOAD');
    const client = this.#clients.addressOf(clientId as number);
    if (client === undefined) {
      if (this.#clients.issued(clientId as number)) {
        this.#connection.send(clientDisconnectedFrame(clientId as number));
      } else {
        this.#fail('FORWARD_UNKNOWN_CLIENT', clientId as number);
      }
      return;
    }
    this.#context.router.send(client, ToClient.message(this.#address, memberSource(text, 'payload')!), performance.timeOrigin + receivedAt);
  }

  relayPayload(client: Address, payload: Uint8Array, originAt: number): void {
    if (this.#phase === 'registered') this.#relayToDevice(client, payload, originAt);
  }

  #relayToDevice(client: Address, payload: PayloadSource, originAt: number): void {
    const clientId = this.#clients.idOf(client);
    if (clientId === undefined) return;
    sendEnveloped(this.#connection, clientMessageHead(clientId), payload);
    this.#context.metrics.relayLatency((wallClockMs() - originAt) / 1000);
  }

  /** Messages from this device's clients, local or on other nodes (see relay-protocol.ts). */
  deliver(message: string, originAt: number): void {
    if (this.#phase !== 'registered') return;
    switch (message.charCodeAt(0)) {
      case 109 /* m */: {
        const newline = message.indexOf('\n');
        this.#relayToDevice(message.slice(1, newline), message.slice(newline + 1), originAt);
        return;
      }
      case 97 /* a */: {
        const client = message.slice(1);
        if ((this.#clientTable ??= new ClientTable()).add(client) === undefined) return;
        this.#context.router.send(client, ToClient.attached(this.#deviceInfoSource), originAt);
        return;
      }
      case 100 /* d */:
        this.#detach(message.slice(1));
        return;
    }
  }

  #detach(client: Address): void {
    const clientId = this.#clients.remove(client);
    if (clientId === undefined) return;
    this.#connection.send(clientDisconnectedFrame(clientId));
  }

  async renewLease(): Promise<void> {
    if (this.#phase !== 'registered') return;
    if (await this.#directory.renew(this.deviceId, this.#token)) return;
    // The lease lapsed (State unreachable for longer than the lease). Take it back if it
    // is still free; if another device got the id meanwhile, this one has lost it.
    if (!(await this.#directory.claim(this.deviceId, this.#token))) {
      this.#context.log.warn({ deviceId: this.deviceId }, 'device lease lost to another registration');
      this.#fail('DEVICE_ID_TAKEN', this.deviceId);
    }
  }

  async dropClientsOnDeadNodes(isAlive: (node: string) => Promise<boolean>): Promise<void> {
    for (const client of this.#clients.addresses()) {
      if (this.#context.router.isLocal(client)) continue;
      if (!(await isAlive(nodeOf(client)))) this.#detach(client);
    }
  }

  #fail(code: CuttlefishErrorCode, detail?: string | number): void {
    if (sendError(this.#connection, this.#context.metrics, code, detail)) this.#shutDown();
  }

  onClose(): void {
    this.#shutDown();
  }

  #shutDown(): void {
    const wasRegistered = this.#phase === 'registered';
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    if (!wasRegistered) return;
    this.#registered.delete(this);
    this.#context.router.unregister(this.#mailbox);
    const now = wallClockMs();
    for (const client of this.#clients.addresses()) this.#context.router.send(client, ToClient.deviceGone, now);
    this.#clients.clear();
    void this.#directory.release(this.deviceId, this.#token).catch((error) => {
      this.#context.log.warn({ err: error, deviceId: this.deviceId }, 'could not release device id; its lease will expire');
    });
    this.#context.log.debug({ deviceId: this.deviceId }, 'device unregistered');
  }
}
