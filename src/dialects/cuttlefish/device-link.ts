import type { Address, MessageRouter } from '../../core/message-router.ts';
import { DeviceDirectory } from './device-directory.ts';
import { relayPayload, ToDevice, type PayloadSink } from './relay-protocol.ts';
import type { PayloadSource } from './wire.ts';

/** How long a client waits for its device's node to answer an attach before giving up. */
export const ATTACH_REPLY_TIMEOUT_MS = 5000;

export interface DeviceLinkEvents {
  onDeviceMessage(payload: PayloadSource, originAt: number): void;
  onDeviceGone(): void;
}

/**
 * One client's tie to its device, wherever in the cluster the device is: the client's
 * mailbox, the attach handshake that gets it a client id, and the relay both ways.
 * WebSocket and polling clients both use it, so they share the device's id counter.
 */
export class DeviceLink implements PayloadSink {
  readonly address: Address;
  deviceId = '';
  #phase: 'idle' | 'attaching' | 'attached' | 'gone' = 'idle';
  #deviceAddress: Address = '';
  #token = '';
  #attachReply: ((deviceInfoSource: string | undefined) => void) | undefined;
  readonly #router: MessageRouter;
  readonly #directory: DeviceDirectory;
  readonly #mailbox: string;
  readonly #events: DeviceLinkEvents;

  constructor(router: MessageRouter, directory: DeviceDirectory, mailbox: string, events: DeviceLinkEvents) {
    this.#router = router;
    this.#directory = directory;
    this.#mailbox = mailbox;
    this.#events = events;
    this.address = router.register(mailbox, this);
  }

  get attached(): boolean {
    return this.#phase === 'attached';
  }

  get deviceAddress(): Address {
    return this.#deviceAddress;
  }

  /** Resolves to the device's device_info source, or undefined when it is not registered. */
  async attach(deviceId: string): Promise<string | undefined> {
    this.deviceId = deviceId;
    const record = await this.#directory.lookup(deviceId);
    if (!record || this.#phase === 'gone') return undefined;
    this.#phase = 'attaching';
    this.#deviceAddress = record.address;
    this.#token = DeviceDirectory.token(record);
    const reply = new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ATTACH_REPLY_TIMEOUT_MS);
      this.#attachReply = (info) => {
        clearTimeout(timer);
        resolve(info);
      };
    });
    this.#router.send(record.address, ToDevice.attach(this.address), performance.timeOrigin + performance.now());
    const deviceInfoSource = await reply;
    this.#attachReply = undefined;
    if ((this.#phase as string) === 'gone') return undefined;
    if (deviceInfoSource === undefined) {
      // No answer: the device left meanwhile. Detach in case the answer is only late.
      this.#router.send(this.#deviceAddress, ToDevice.detach(this.address), performance.timeOrigin + performance.now());
      this.#phase = 'idle';
      return undefined;
    }
    this.#phase = 'attached';
    return deviceInfoSource;
  }

  forward(payload: PayloadSource, originAt: number): void {
    if (typeof payload === 'string') this.#router.send(this.#deviceAddress, ToDevice.message(this.address, payload), originAt);
    else relayPayload(this.#router, this.#deviceAddress, this.address, payload, originAt, ToDevice.message);
  }

  relayPayload(_device: Address, payload: Uint8Array, originAt: number): void {
    if (this.#phase === 'attached') this.#events.onDeviceMessage(payload, originAt);
  }

  /** False once the device's registration is no longer the one this link attached to. */
  async deviceStillRegistered(): Promise<boolean> {
    if (this.#phase !== 'attached') return true;
    return this.#router.isLocal(this.#deviceAddress) || (await this.#directory.holds(this.deviceId, this.#token));
  }

  /** The device is gone as far as this client is concerned (also after a failed check). */
  markDeviceGone(): void {
    if (this.#phase !== 'attached') return;
    this.#phase = 'gone';
    this.#events.onDeviceGone();
  }

  /** The client is gone: tell the device, release the mailbox. Idempotent. */
  close(): void {
    const wasLinked = this.#phase === 'attached' || this.#phase === 'attaching';
    this.#phase = 'gone';
    this.#attachReply?.(undefined);
    this.#router.unregister(this.#mailbox);
    if (wasLinked) this.#router.send(this.#deviceAddress, ToDevice.detach(this.address), performance.timeOrigin + performance.now());
  }

  deliver(message: string, originAt: number): void {
    switch (message.charCodeAt(0)) {
      case 102 /* f */:
        if (this.#phase === 'attached') this.#events.onDeviceMessage(message.slice(1), originAt);
        return;
      case 105 /* i */:
        this.#attachReply?.(message.slice(1));
        return;
      case 120 /* x */:
        if (this.#phase === 'attaching') this.#attachReply?.(undefined);
        else this.markDeviceGone();
        return;
    }
  }
}

/**
 * Clients waiting for a device that has not registered yet (the seed's alternative flow).
 * One Bus subscription per node; each registration anywhere wakes that id's waiters.
 */
export class DeviceWaiters {
  readonly #waiters = new Map<string, Set<() => void>>();

  handleRegistration = (deviceId: string): void => {
    const waiters = this.#waiters.get(deviceId);
    if (waiters) for (const wake of [...waiters]) wake();
  };

  add(deviceId: string, wake: () => void): () => void {
    let waiters = this.#waiters.get(deviceId);
    if (!waiters) this.#waiters.set(deviceId, (waiters = new Set()));
    waiters.add(wake);
    return () => {
      waiters.delete(wake);
      if (waiters.size === 0) this.#waiters.delete(deviceId);
    };
  }
}
