import type { IncomingMessage } from 'node:http';
import { wallClockMs } from '../../core/clock.ts';
import { memberSource } from '../../core/json-members.ts';
import { SerialExecutor } from '../../core/serial-executor.ts';
import type { Connection, ConnectionHandler } from '../../transport/connection.ts';
import type { DialectContext } from '../dialect.ts';
import type { DeviceDirectory } from './device-directory.ts';
import { DeviceLink, type DeviceWaiters } from './device-link.ts';
import { sendError, type CuttlefishErrorCode } from './errors.ts';
import { CuttlefishSocketEndpoint } from './socket-endpoint.ts';
import { configFrame, DEVICE_MESSAGE_HEAD, deviceInfoFrame, parseFrame, quickForward, sendEnveloped } from './wire.ts';

/** The connect field with which a client asks to wait for a device that is not there yet. */
export const WAIT_FIELD = 'switchboard_wait_ms';

/** `/connect_client`: browser clients, each tied to one device through a DeviceLink. */
export class ClientEndpoint extends CuttlefishSocketEndpoint {
  readonly path = '/connect_client';
  readonly #directory: DeviceDirectory;
  readonly #waiters: DeviceWaiters;
  readonly #attached = new Set<ClientSocket>();

  constructor(context: DialectContext, directory: DeviceDirectory, waiters: DeviceWaiters) {
    super(context);
    this.#directory = directory;
    this.#waiters = waiters;
  }

  accept(connection: Connection, _request: IncomingMessage): ConnectionHandler {
    return new ClientSocket(connection, this.context, this.#directory, this.#waiters, this.#attached);
  }

  /**
   * A device on a node that died sends no goodbye; its clients learn it here, when its
   * lease has run out.
   */
  protected async upkeep(): Promise<void> {
    // One look-up per device, however many of its clients are here.
    const checks = new Map<string, Promise<boolean>>();
    await Promise.all(
      [...this.#attached].map(async (client) => {
        const link = client.link!;
        let check = checks.get(link.deviceAddress);
        if (!check) checks.set(link.deviceAddress, (check = link.deviceStillRegistered().catch(() => true)));
        if (!(await check)) link.markDeviceGone();
      }),
    );
  }
}

class ClientSocket implements ConnectionHandler {
  /** Made by `connect`: an idle socket holds no mailbox. */
  link: DeviceLink | undefined;
  readonly #connection: Connection;
  readonly #context: DialectContext;
  readonly #waiters: DeviceWaiters;
  readonly #attached: Set<ClientSocket>;
  readonly #executor: SerialExecutor;
  #phase: 'new' | 'attaching' | 'waiting' | 'connected' | 'closed' = 'new';
  #stopWaiting: (() => void) | undefined;
  #woken = false;

  readonly #directory: DeviceDirectory;

  constructor(connection: Connection, context: DialectContext, directory: DeviceDirectory, waiters: DeviceWaiters, attached: Set<ClientSocket>) {
    this.#connection = connection;
    this.#context = context;
    this.#directory = directory;
    this.#waiters = waiters;
    this.#attached = attached;
    this.#executor = new SerialExecutor(this);
  }

  #linkTo(): DeviceLink {
    const context = this.#context;
    return new DeviceLink(context.router, this.#directory, `cf-c${this.#connection.id}`, {
      onDeviceMessage: (payloadSource, originAt) => {
        sendEnveloped(this.#connection, DEVICE_MESSAGE_HEAD, payloadSource);
        context.metrics.relayLatency((wallClockMs() - originAt) / 1000);
      },
      onDeviceGone: () => this.#fail('DEVICE_DISCONNECTED'),
    });
  }

  onText(data: Buffer, receivedAt: number): void {
    if (this.#phase === 'connected' && this.#executor.idle && this.link!.attached) {
      // The hot path; anything quickForward does not vouch for goes to #handle.
      const payload = quickForward.read(data);
      if (payload !== undefined) return this.link!.forward(payload, performance.timeOrigin + receivedAt);
    }
    const text = data.toString();
    this.#executor.runWith(this.#handle, this, text, receivedAt);
  }

  taskFailed(error: unknown): void {
    this.#context.log.error({ err: error }, 'cuttlefish client handler failed');
    this.#connection.close(1011, 'internal error');
  }

  onBinary(): void {
    this.#executor.run(() => this.#fail('BINARY_MESSAGE'));
  }

  #handle(text: string, receivedAt: number): void | Promise<void> {
    if (this.#phase === 'closed') return;
    const frame = parseFrame(text);
    if (!frame.ok) return this.#fail(frame.error, frame.detail);
    switch (frame.type) {
      case 'connect':
        return this.#connect(frame.message);
      case 'forward':
        return this.#forward(frame.message, text, receivedAt);
      default:
        return this.#fail('UNKNOWN_MESSAGE_TYPE', frame.type);
    }
  }

  async #connect(message: Record<string, unknown>): Promise<void> {
    if (this.#phase !== 'new') return this.#fail('MULTIPLE_DEVICES');
    const deviceId = message.device_id;
    if (typeof deviceId !== 'string') return this.#fail('CONNECT_MISSING_DEVICE_ID');
    this.#connection.send(configFrame(this.#context.ice.iceServers(`cf-client-${this.#context.nodeId}-${this.#connection.id}`)));
    this.link = this.#linkTo();
    const waitMs = this.#waitMs(message[WAIT_FIELD]);
    if (waitMs > 0) {
      // Listen before looking: a registration between the lookup and the listening would
      // otherwise be missed.
      this.#stopWaiting = this.#waiters.add(deviceId, () => this.#wake());
      const timer = setTimeout(() => this.#executor.run(() => this.#giveUpWaiting(deviceId)), waitMs);
      timer.unref();
      const stop = this.#stopWaiting;
      this.#stopWaiting = () => {
        clearTimeout(timer);
        stop();
      };
    }
    await this.#tryAttach(deviceId);
  }

  async #tryAttach(deviceId: string): Promise<void> {
    this.#phase = 'attaching';
    this.#woken = false;
    const deviceInfoSource = await this.link!.attach(deviceId);
    if ((this.#phase as string) === 'closed') return;
    if (deviceInfoSource !== undefined) {
      this.#stopWaiting?.();
      this.#phase = 'connected';
      this.#attached.add(this);
      this.#connection.send(deviceInfoFrame(deviceInfoSource));
      return;
    }
    if (!this.#stopWaiting) return this.#fail('DEVICE_NOT_FOUND', deviceId);
    this.#phase = 'waiting';
    if (this.#woken) return this.#tryAttach(deviceId);
  }

  #wake(): void {
    this.#woken = true;
    if (this.#phase === 'waiting') this.#executor.run(() => this.#tryAttach(this.link!.deviceId));
  }

  #giveUpWaiting(deviceId: string): void {
    if (this.#phase === 'waiting') this.#fail('DEVICE_NOT_FOUND', deviceId);
  }

  #waitMs(requested: unknown): number {
    const { config } = this.#context;
    if (typeof requested === 'number' && Number.isFinite(requested) && requested >= 0) {
      return Math.min(Math.floor(requested), config['cuttlefish.maxWaitForDeviceMs']);
    }
    return config['cuttlefish.waitForDeviceMs'];
  }

  #forward(message: Record<string, unknown>, text: string, receivedAt: number): void {
    if (this.#phase !== 'connected') return this.#fail('FORWARD_NO_DEVICE');
    if (message.payload === undefined) return this.#fail('FORWARD_NO_PAYLOAD');
    if (!this.link!.attached) return this.#fail('FORWARD_DEVICE_DISCONNECTED');
    this.link!.forward(memberSource(text, 'payload')!, performance.timeOrigin + receivedAt);
  }

  #fail(code: CuttlefishErrorCode, detail?: string | number): void {
    if (this.#phase === 'closed') return;
    if (sendError(this.#connection, this.#context.metrics, code, detail)) this.#shutDown();
  }

  onClose(): void {
    // Behind any forward still in progress, so the device never hears of a payload after
    // it heard that the client left.
    this.#executor.run(() => this.#shutDown());
  }

  #shutDown(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#stopWaiting?.();
    this.#attached.delete(this);
    this.link?.close();
  }
}
