import type { Address } from '../../core/message-router.ts';

/**
 * A device's clients by id and by address. Ids count from 1 and are never reused while the
 * device stays registered. A device makes its table with its first client (most registered
 * devices sit idle, and idle memory per socket is a target).
 */
export class ClientTable {
  #lastId = 0;
  readonly #byId = new Map<number, Address>();
  readonly #byAddress = new Map<Address, number>();

  /** The new client's id, or undefined when that address is already in the table. */
  add(address: Address): number | undefined {
    if (this.#byAddress.has(address)) return undefined;
    const id = ++this.#lastId;
    this.#byId.set(id, address);
    this.#byAddress.set(address, id);
    return id;
  }

  addressOf(id: number): Address | undefined {
    return this.#byId.get(id);
  }

  idOf(address: Address): number | undefined {
    return this.#byAddress.get(address);
  }

  /** True for an id this device handed out at some point (the client may have gone). */
  issued(id: number): boolean {
    return id >= 1 && id <= this.#lastId;
  }

  /** Removes the client; returns its id, or undefined when it was not in the table. */
  remove(address: Address): number | undefined {
    const id = this.#byAddress.get(address);
    if (id === undefined) return undefined;
    this.#byAddress.delete(address);
    this.#byId.delete(id);
    return id;
  }

  addresses(): Address[] {
    return [...this.#byAddress.keys()];
  }

  clear(): void {
    this.#byAddress.clear();
    this.#byId.clear();
  }
}
