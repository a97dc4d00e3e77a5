import { Backoff } from './backoff.ts';
import { Connection } from './connection.ts';
import { Emitter } from './emitter.ts';
import { MobzJoinError, MobzStateError } from './errors.ts';
import { checkMessageSize, type FrameLimits } from './frames.ts';
import {
  FORWARDED_SIGNALS,
  ROUTES,
  type ClientSignal,
  type ErrorAck,
  type ForwardedSignal,
  type JoinAckBody,
  type JoinSignal,
  type KeepaliveAck,
  type OfferAck,
  type OfferOptions,
  type Publisher,
  type Recipient,
  type SessionInfo,
  type WatchAck,
} from './messages.ts';
import { browserNetworkEvents, withDefaults, type MobzRoomClientOptions, type NetworkEvents, type ResolvedOptions } from './options.ts';
import { endpointUrl, parseServerFrame, type MobzWebSocketConstructor } from './socket.ts';
import { canTransition, type RoomState, type StateChange, type TransitionReason } from './states.ts';

export type PublisherSource = 'JOIN' | 'HEARTBEAT' | 'PUBLISH_LIST_CHANGED';

export interface MobzRoomClientEvents {
  state: [change: StateChange];
  /** The JOIN ack's body, on the first join and on every re-join. */
  joined: [ack: JoinAckBody];
  /** The publisher list, from each JOIN ack, HEARTBEAT ack and PUBLISH_LIST_CHANGED. */
  publishers: [pps: Publisher[], source: PublisherSource];
  /** A peer's signal, as the peer sent it (`ss` names the sender). */
  signal: [signal: ForwardedSignal];
  errorAck: [ack: ErrorAck];
  keepalive: [body: KeepaliveAck['b']];
  /** SFU rooms: the answer to our OFFER, or the SFU's offers for a WATCH. */
  sfuAck: [ack: OfferAck | WatchAck];
}

/** Server closes that say "come back now": going away (restart, drain, max lifetime) and service restart. */
const ORDERLY_CLOSES = new Set([1001, 1012]);
/**
 * Server closes for something we sent; reconnecting would repeat it. Not 1008: servers
 * also use it for a slow consumer, which a new connection cures.
 */
const PROTOCOL_CLOSES = new Set([1002, 1003, 1007, 1009, 1010]);

/** A signal without what every signal of this client carries alike. */
type SignalFields = ClientSignal extends infer T ? (T extends ClientSignal ? Omit<T, 'ch' | 'ss' | 'rid'> : never) : never;

/**
 * One membership (one userId/sessionId in one room) over the mobz protocol, with the
 * state machine, heartbeat, checkdog and reconnection the MobZ documents ask of clients.
 *
 *     const client = new MobzRoomClient({ url: 'wss://host', rid, ch: 'p2p', ss: { userId, sessionId } });
 *     client.on('signal', (signal) => …);
 *     const room = await client.join();
 *     client.offer(sdp);
 *
 * Signals sent while not joined wait and go out, in order, right after the next join.
 */
export class MobzRoomClient {
  readonly #options: ResolvedOptions;
  readonly #joinText: string;
  /** The same JOIN without roomCreating: for a creator who left and comes back to a room others kept. */
  readonly #rejoinText: string;
  readonly #createsRoom: boolean;
  /** Whether the JOIN sent now is the creating one; false after falling back to #rejoinText. */
  #creating: boolean;
  #everJoined = false;
  readonly #limits: FrameLimits;
  readonly #connection: Connection;
  readonly #events = new Emitter<MobzRoomClientEvents>();
  readonly #backoff: Backoff;
  readonly #network: NetworkEvents | null;
  #state: RoomState = 'idle';
  #closed = false;
  #outbox: string[] = [];
  #publishers: Publisher[] = [];
  #joinAck: JoinAckBody | undefined;
  #pendingJoin: { resolve(ack: JoinAckBody): void; reject(error: Error): void } | undefined;
  #joinAttempts = 0;
  #attemptStartedAt = 0;
  #lastFrameAt = 0;
  #heartbeats = 0;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #checkdogTimer: ReturnType<typeof setInterval> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: MobzRoomClientOptions) {
    this.#options = withDefaults(options);
    const o = this.#options;
    const join: JoinSignal = { s: 'JOIN', ch: o.ch, ss: o.ss, rid: o.rid, ve: o.ve, ae: o.ae, eg: o.eg, op: { roomCreating: false, ...options.op } };
    this.#joinText = JSON.stringify({ action: ROUTES.JOIN, data: join });
    this.#rejoinText = JSON.stringify({ action: ROUTES.JOIN, data: { ...join, op: { ...join.op, roomCreating: false } } });
    this.#createsRoom = options.op?.roomCreating === true;
    this.#creating = this.#createsRoom;
    this.#limits = { maxFrameBytes: o.maxFrameBytes, maxMessageBytes: o.maxMessageBytes, fragment: o.fragmentFrames };
    const Impl = options.WebSocket ?? (globalThis as { WebSocket?: MobzWebSocketConstructor }).WebSocket;
    if (!Impl) throw new TypeError('MobzRoomClient: no WebSocket implementation; pass options.WebSocket');
    this.#connection = new Connection(endpointUrl(o.url, options.path ?? '/mobz'), Impl, this.#limits, o.connectTimeoutMs, {
      onOpen: () => this.#onOpen(),
      onFrame: (data) => this.#onFrame(data),
      onClose: (code) => this.#onClose(code),
    });
    this.#backoff = new Backoff(o.reconnectDelayMs, o.maxReconnectDelayMs);
    this.#network = options.network !== undefined ? options.network : browserNetworkEvents();
  }

  get state(): RoomState {
    return this.#state;
  }

  /** The latest publisher list (JOIN ack, HEARTBEAT ack or PUBLISH_LIST_CHANGED). */
  get publishers(): readonly Publisher[] {
    return this.#publishers;
  }

  /** The body of the latest 200 JOIN ack. */
  get joinAck(): JoinAckBody | undefined {
    return this.#joinAck;
  }

  get session(): Readonly<SessionInfo> {
    return this.#options.ss;
  }

  on<K extends keyof MobzRoomClientEvents>(event: K, listener: (...args: MobzRoomClientEvents[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  off<K extends keyof MobzRoomClientEvents>(event: K, listener: (...args: MobzRoomClientEvents[K]) => void): void {
    this.#events.off(event, listener);
  }

  /**
   * Joins (from `idle`) or joins again (after `leave()`). Resolves with the JOIN ack's
   * body; rejects with MobzJoinError when the client fails before it joins.
   */
  join(): Promise<JoinAckBody> {
    if (this.#closed || (this.#state !== 'idle' && this.#state !== 'leaved')) {
      return Promise.reject(new MobzStateError('join', this.#state, this.#closed));
    }
    const joined = new Promise<JoinAckBody>((resolve, reject) => (this.#pendingJoin = { resolve, reject }));
    this.#creating = this.#createsRoom;
    this.#checkdogTimer = setInterval(() => this.#checkdog(), this.#options.checkdogIntervalMs);
    this.#network?.addEventListener('online', this.#onOnline);
    this.#network?.addEventListener('offline', this.#onOffline);
    this.#connection.open();
    this.#transition('initializing', 'join');
    return joined;
  }

  /** Sends LEAVE and closes the socket; resolves once it is closed. Only while joined. */
  leave(): Promise<void> {
    if (this.#closed || this.#state !== 'joined') return Promise.reject(new MobzStateError('leave', this.#state, this.#closed));
    this.#connection.send(this.#envelope({ s: 'LEAVE' }));
    this.#transition('leaved', 'leave');
    return this.#connection.end();
  }

  /** Leaves if joined, then stops for good: no more reconnects, events or sends. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#state === 'joined') await this.leave();
    this.#closed = true;
    this.#stop();
    this.#pendingJoin?.reject(new MobzJoinError('closed'));
    this.#pendingJoin = undefined;
    await this.#connection.end();
  }

  offer(sdp: string, to?: Recipient, op?: OfferOptions): void {
    this.#sendSignal('offer', { s: 'OFFER', sdp, ...(to === undefined ? {} : { to }), ...(op === undefined ? {} : { op }) });
  }

  answer(sdp: string, to?: Recipient): void {
    this.#sendSignal('answer', { s: 'ANSWER', sdp, ...(to === undefined ? {} : { to }) });
  }

  /** An ICE candidate (serialized as the application likes); it travels in the field `sdp`. */
  ice(candidate: string, to?: Recipient): void {
    this.#sendSignal('ice', { s: 'ICE', sdp: candidate, ...(to === undefined ? {} : { to }) });
  }

  updateVideo(ve: boolean, ae: boolean): void {
    this.#sendSignal('updateVideo', { s: 'UPDATE', ve, ae });
  }

  kick(to: Recipient): void {
    this.#sendSignal('kick', { s: 'KICK', to });
  }

  publishRequest(details: { ve?: boolean; ae?: boolean; msg?: string } = {}): void {
    this.#sendSignal('publishRequest', { s: 'PUBLISH_REQUEST', ...details });
  }

  publishAccept(to: Recipient): void {
    this.#sendSignal('publishAccept', { s: 'PUBLISH_ACCEPT', to });
  }

  publishReject(to: Recipient): void {
    this.#sendSignal('publishReject', { s: 'PUBLISH_REJECT', to });
  }

  watch(to: Recipient): void {
    this.#sendSignal('watch', { s: 'WATCH', to });
  }

  // ── Sending ──────────────────────────────────────────────────────────────

  #envelope(signal: SignalFields): string {
    const { ch, ss, rid } = this.#options;
    return JSON.stringify({ action: ROUTES[signal.s], data: { ...signal, ch, ss, rid } });
  }

  #sendSignal(operation: string, signal: SignalFields): void {
    if (this.#closed || this.#state === 'leaved' || this.#state === 'failed') throw new MobzStateError(operation, this.#state, this.#closed);
    const text = this.#envelope(signal);
    checkMessageSize(text, this.#limits);
    if (this.#state !== 'joined' || !this.#connection.send(text)) this.#outbox.push(text);
  }

  #sendJoin(): void {
    this.#connection.send(this.#creating ? this.#joinText : this.#rejoinText);
  }

  #sendHeartbeat(): void {
    const bid = `${this.#options.ss.sessionId}-${Date.now().toString(36)}-${++this.#heartbeats}`;
    this.#connection.send(this.#envelope({ s: 'HEARTBEAT', bid, send_ack: true }));
  }

  // ── The state machine ────────────────────────────────────────────────────

  /**
   * The only place the state changes. Side effects of the new state happen before the
   * `state` event, so a listener already sees a consistent client; callers do nothing
   * after it (a listener may have closed the client meanwhile).
   */
  #transition(to: RoomState, reason: TransitionReason, ack?: { body?: JoinAckBody; error?: ErrorAck }): void {
    const from = this.#state;
    if (this.#closed || !canTransition(from, to)) return;
    this.#state = to;
    if (from === 'joined') clearInterval(this.#heartbeatTimer);
    switch (to) {
      case 'initializing':
      case 'reinitializing':
        this.#joinAttempts = 1;
        this.#attemptStartedAt = Date.now();
        this.#sendJoin();
        break;
      case 'joined':
        this.#everJoined = true;
        this.#backoff.reset();
        this.#lastFrameAt = Date.now();
        this.#joinAck = ack?.body;
        this.#publishers = ack?.body?.pps ?? [];
        this.#heartbeatTimer = setInterval(() => this.#sendHeartbeat(), this.#options.heartbeatIntervalMs);
        for (const text of this.#outbox.splice(0)) this.#connection.send(text);
        break;
      case 'leaved':
      case 'failed':
        this.#stop();
        if (to === 'failed') void this.#connection.end();
        break;
    }
    this.#events.emit('state', { from, to, reason });
    if (to === 'joined' && this.#state === 'joined' && ack?.body) {
      this.#pendingJoin?.resolve(ack.body);
      this.#pendingJoin = undefined;
      this.#events.emit('joined', ack.body);
      this.#events.emit('publishers', ack.body.pps, 'JOIN');
    }
    if (to === 'failed') {
      this.#pendingJoin?.reject(new MobzJoinError(reason, ack?.error));
      this.#pendingJoin = undefined;
    }
  }

  /** Timers, reconnects and network listeners off; what waits in the outbox is dropped. */
  #stop(): void {
    clearInterval(this.#heartbeatTimer);
    clearInterval(this.#checkdogTimer);
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#network?.removeEventListener('online', this.#onOnline);
    this.#network?.removeEventListener('offline', this.#onOffline);
    this.#outbox = [];
  }

  #isJoining(): boolean {
    return this.#state === 'initializing' || this.#state === 'reinitializing';
  }

  /** Every second (by default): join acks that do not come, and a connection gone silent. */
  #checkdog(): void {
    const now = Date.now();
    if (this.#isJoining() && now - this.#attemptStartedAt >= this.#options.joinAckTimeoutMs) {
      if (this.#joinAttempts >= this.#options.maxJoinAttempts) return this.#transition('failed', 'join-timeout');
      this.#joinAttempts++;
      this.#attemptStartedAt = now;
      this.#sendJoin();
    } else if (this.#state === 'joined' && now - this.#lastFrameAt > this.#options.livenessTimeoutMs) {
      this.#networkLost('no-pong');
    }
  }

  #networkLost(reason: TransitionReason): void {
    this.#connection.abandon(reason);
    this.#reconnect(this.#backoff.next());
    this.#transition('waitingNetwork', reason);
  }

  #reconnect(delayMs: number): void {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connection.open();
    }, delayMs);
  }

  readonly #onOnline = (): void => {
    if (this.#reconnectTimer !== undefined) this.#reconnect(0);
  };

  readonly #onOffline = (): void => {
    if (this.#state === 'joined') this.#networkLost('offline');
  };

  // ── Socket events ────────────────────────────────────────────────────────

  #onOpen(): void {
    this.#lastFrameAt = Date.now();
    if (this.#isJoining()) this.#sendJoin();
    else if (this.#state === 'waitingNetwork') this.#transition('reinitializing', 'rejoin');
  }

  #onClose(code: number): void {
    if (this.#state === 'joined') {
      if (ORDERLY_CLOSES.has(code)) {
        this.#reconnect(0);
        this.#transition('reinitializing', `server-closed:${code}`);
      } else if (PROTOCOL_CLOSES.has(code)) {
        this.#transition('failed', `protocol-close:${code}`);
      } else {
        this.#networkLost(`socket-lost:${code}`);
      }
    } else if (this.#isJoining() || this.#state === 'waitingNetwork') {
      // Backoff even after an orderly close: a draining server may close every new socket at once.
      this.#reconnect(this.#backoff.next());
    }
  }

  #onFrame(data: unknown): void {
    this.#lastFrameAt = Date.now();
    const frame = parseServerFrame(data);
    if (!frame) return;
    if (typeof frame.c === 'number') {
      if (frame.c === 200) this.#onAck(frame);
      else this.#onErrorAck(frame as unknown as ErrorAck);
    } else if (typeof frame.s === 'string' && FORWARDED_SIGNALS.has(frame.s)) {
      this.#onSignal(frame as unknown as ForwardedSignal);
    }
  }

  #onAck(frame: Record<string, unknown>): void {
    const body = frame.b as Record<string, unknown> | undefined;
    switch (frame.s) {
      case 'JOIN':
        // A duplicate ack (checkdog re-sent the JOIN) finds us joined already.
        if (this.#isJoining() && body) this.#transition('joined', 'join-acked', { body: body as unknown as JoinAckBody });
        break;
      case 'HEARTBEAT':
      case 'PUBLISH_LIST_CHANGED':
        if (this.#state === 'joined' && Array.isArray(body?.pps)) {
          this.#publishers = body.pps as Publisher[];
          this.#events.emit('publishers', this.#publishers, frame.s);
        }
        break;
      case 'KEEPALIVE':
        this.#events.emit('keepalive', body as KeepaliveAck['b']);
        break;
      case 'OFFER':
      case 'WATCH':
        this.#events.emit('sfuAck', frame as unknown as OfferAck | WatchAck);
        break;
    }
  }

  #onErrorAck(ack: ErrorAck): void {
    if (ack.s === 'JOIN' && ack.c === 4022 && this.#creating && this.#everJoined && this.#isJoining()) {
      // join() after leave() by the creator, and the others kept the room: join it as they did.
      this.#creating = false;
      this.#sendJoin();
      return;
    }
    this.#events.emit('errorAck', ack);
    if (ack.s === 'JOIN') {
      if (this.#isJoining()) this.#transition('failed', `join-rejected:${ack.c}`, { error: ack });
      return;
    }
    if (this.#state !== 'joined') return;
    // The server does not know us (any more): its room or our membership is gone.
    if (ack.c === 4001 || ack.c === 4002) this.#transition('reinitializing', `forgotten:${ack.c}`);
    // "Server failed, the client shall exit the room" — except for WATCH, where the documents say "retry".
    else if (ack.c === 500 && ack.s !== 'WATCH') this.#transition('failed', 'server-error');
  }

  #onSignal(signal: ForwardedSignal): void {
    this.#events.emit('signal', signal);
    if (signal.s === 'KICK' && this.#state === 'joined' && names(signal.to, this.#options.ss)) this.#transition('failed', 'kicked');
  }
}

/** Whether `to` addresses this session: its userId, or its userId and (if given) sessionId. */
function names(to: Recipient, ss: SessionInfo): boolean {
  if (typeof to === 'string') return to === ss.userId;
  return to?.userId === ss.userId && (to.sessionId === undefined || to.sessionId === ss.sessionId);
}
