import type { Bus } from '../../core/bus.ts';
import type { Address } from '../../core/message-router.ts';
import type { State } from '../../core/state.ts';

export interface DeviceRecord {
  address: Address;
  deviceInfoSource: string;
}

const REGISTRATIONS_TOPIC = 'cuttlefish:registered';
const DEVICE_SET = 'cuttlefish:devices';
const deviceKey = (deviceId: string) => `cuttlefish:device:${deviceId}`;

/**
 * Cluster-wide registry of devices. A device id is a lock in State whose token is the
 * record (`address\ndevice_info`), held under a lease its node keeps renewing: so ids are
 * unique across nodes, and a dead node's devices free themselves when the lease runs out.
 */
export class DeviceDirectory {
  readonly #state: State;
  readonly #bus: Bus;
  readonly #leaseMs: number;

  constructor(state: State, bus: Bus, leaseMs: number) {
    this.#state = state;
    this.#bus = bus;
    this.#leaseMs = leaseMs;
  }

  static token(record: DeviceRecord): string {
    return `${record.address}\n${record.deviceInfoSource}`;
  }

  async claim(deviceId: string, token: string): Promise<boolean> {
    if (!(await this.#state.acquire(deviceKey(deviceId), token, this.#leaseMs))) return false;
    await this.#state.addMember(DEVICE_SET, deviceId);
    this.#bus.publish(REGISTRATIONS_TOPIC, deviceId);
    return true;
  }

  /** False when the lease was lost (expired and taken, or never held). */
  renew(deviceId: string, token: string): Promise<boolean> {
    return this.#state.renew(deviceKey(deviceId), token, this.#leaseMs);
  }

  /** The id stays in the device set until list() prunes it: removing it here could race
   *  with a new claim of the same id and hide that device. */
  async release(deviceId: string, token: string): Promise<void> {
    await this.#state.release(deviceKey(deviceId), token);
  }

  async lookup(deviceId: string): Promise<DeviceRecord | undefined> {
    const token = await this.#state.get(deviceKey(deviceId));
    if (token === null) return undefined;
    const newline = token.indexOf('\n');
    return { address: token.slice(0, newline), deviceInfoSource: token.slice(newline + 1) };
  }

  async holds(deviceId: string, token: string): Promise<boolean> {
    return (await this.#state.get(deviceKey(deviceId))) === token;
  }

  /** Registered device ids; ids left behind by a dead node are pruned on the way. */
  async list(): Promise<string[]> {
    const ids = await this.#state.members(DEVICE_SET);
    const live = await Promise.all(ids.map(async (id) => ((await this.#state.get(deviceKey(id))) === null ? undefined : id)));
    for (let i = 0; i < ids.length; i++) {
      if (live[i] === undefined) void this.#state.removeMember(DEVICE_SET, ids[i]!).catch(() => {});
    }
    return live.filter((id): id is string => id !== undefined).sort();
  }

  /** Calls `onRegistered(deviceId)` whenever a device registers anywhere in the cluster. */
  onRegistered(onRegistered: (deviceId: string) => void): Promise<() => Promise<void>> {
    return this.#bus.subscribe(REGISTRATIONS_TOPIC, onRegistered);
  }
}
