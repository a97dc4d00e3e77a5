import { wallClockMs } from '../../core/clock.ts';
import type { Address, Mailbox } from '../../core/message-router.ts';
import { SerialExecutor, type TaskOwner } from '../../core/serial-executor.ts';
import type { Logger } from '../../ops/logger.ts';
import type { DialectMetrics } from '../../ops/metrics.ts';
import type { Connection, ConnectionHandler } from '../../transport/connection.ts';
import { errorAck, MobzRefusal, type MobzErrorName } from './errors.ts';
import { readLetter, type Letter, type MemberPost } from './member-post.ts';
import type { Caller, RoomSignals } from './room-signals.ts';
import type { MemberRef, RoomStore } from './room-store.ts';
import { parseFrame } from './wire.ts';

/** What the sockets of the endpoint share. */
export interface MobzSocketDeps {
  readonly signals: RoomSignals;
  readonly store: RoomStore;
  readonly post: MemberPost;
  readonly metrics: DialectMetrics;
  readonly log: Logger;
  register(local: string, mailbox: Mailbox): Address;
  unregister(local: string): void;
  /** How long a closed socket's mailbox keeps catching letters for its members. */
  readonly lingerMs: number;
  closed(socket: MobzSocket): void;
}

const refId = (ref: MemberRef) => `${ref.rid.length}:${ref.rid}${ref.userId.length}:${ref.userId}${ref.sessionId}`;

/**
 * One client socket. Its frames take effect in order (SerialExecutor), and letters for its
 * members wait behind them too: a re-JOIN's ack and buffered signals go out before anything
 * sent to the member after it re-bound.
 */
export class MobzSocket implements ConnectionHandler, Mailbox, TaskOwner, Caller {
  readonly address: Address;
  readonly openedAt = performance.now();
  /** performance.now() of the last frame in either direction (keepalive). */
  lastActivity = this.openedAt;
  readonly #connection: Connection;
  readonly #deps: MobzSocketDeps;
  readonly #executor: SerialExecutor;
  readonly #local: string;
  readonly #members = new Map<string, MemberRef>();
  #closed = false;

  constructor(connection: Connection, deps: MobzSocketDeps) {
    this.#connection = connection;
    this.#deps = deps;
    this.#executor = new SerialExecutor(this);
    this.#local = `mz${connection.id}`;
    this.address = deps.register(this.#local, this);
  }

  onText(data: Buffer, receivedAt: number): void {
    this.lastActivity = receivedAt;
    const text = data.toString();
    this.#executor.runWith(this.#handle, this, text, performance.timeOrigin + receivedAt);
  }

  onBinary(): void {
    this.lastActivity = performance.now();
    this.#executor.run(() => this.#refuse('INVALID_SIGNAL', 'UNKNOWN', 'null', 'binary frames are not signals'));
  }

  async #handle(text: string, originAt: number): Promise<void> {
    const frame = parseFrame(text);
    if (!frame.ok) return this.#refuse(frame.error, frame.name, frame.source, frame.detail);
    try {
      await this.#deps.signals.handle(this, frame.name, frame.signal, frame.source, originAt);
    } catch (error) {
      if (error instanceof MobzRefusal) return this.#refuse(error.errorName, frame.name, frame.source, error.message);
      this.#deps.log.error({ err: error, signal: frame.name }, 'mobz signal failed');
      this.#refuse('INTERNAL_SERVER_ERROR', frame.name, frame.source, 'the server could not handle this signal');
    }
  }

  #refuse(name: MobzErrorName, signal: string, source: string, detail: string): void {
    this.#deps.metrics.error(name);
    this.reply(errorAck(name, signal, source, detail));
  }

  taskFailed(error: unknown): void {
    this.#deps.log.error({ err: error }, 'mobz socket task failed');
  }

  reply(text: string): void {
    this.lastActivity = performance.now();
    this.#connection.send(text);
  }

  bound(ref: MemberRef): void {
    this.#members.set(refId(ref), ref);
  }

  unbound(ref: MemberRef): void {
    this.#members.delete(refId(ref));
  }

  deliver(message: string, originAt: number): void {
    const letter = readLetter(message);
    if (!letter) return;
    this.#executor.runWith(this.#receive, this, letter, originAt);
  }

  #receive(letter: Letter, originAt: number): void | Promise<void> {
    const open = !this.#closed && this.#connection.open;
    switch (letter.kind) {
      case 's':
        if (!open) return this.#deps.post.keep(letter.ref, letter.payload);
        this.reply(letter.payload);
        this.#deps.metrics.relayLatency((wallClockMs() - originAt) / 1000);
        return;
      case 'p':
        if (open) this.reply(letter.payload);
        return;
      case 'n':
        if (open) return this.#drain(letter.ref);
    }
  }

  async #drain(ref: MemberRef): Promise<void> {
    for (const kept of await this.#deps.store.drainBuffer(ref)) this.reply(kept);
  }

  /** Closes with `code` (keepalive sweeps: maxConnectionMs). */
  close(code: number, reason: string): void {
    this.#connection.close(code, reason);
  }

  keepalive(): void {
    this.reply(`{"c":200,"s":"KEEPALIVE","b":{"ts":${Date.now()}}}`);
  }

  onClose(): void {
    this.#closed = true;
    this.#deps.closed(this);
    const members = [...this.#members.values()];
    this.#members.clear();
    // Letters already on their way to this socket's mailbox are kept for its members, so
    // the mailbox stays a while; a socket that carried no member needs none.
    if (members.length === 0) return this.#deps.unregister(this.#local);
    setTimeout(() => this.#deps.unregister(this.#local), this.#deps.lingerMs).unref();
    this.#executor.run(async () => {
      await Promise.all(members.map((ref) => this.#deps.signals.unbind(ref, this.address)));
    });
  }
}
