/**
 * Runs tasks one after another, in arrival order. A task that finishes synchronously costs
 * nothing extra; only while an asynchronous task is pending do later ones wait in a queue.
 * Signaling needs this: a socket's messages must take effect in the order they were sent
 * even when one of them has to ask the cluster something first.
 */
export interface TaskOwner {
  taskFailed(error: unknown): void;
}

export class SerialExecutor {
  // Allocated on first contention: most sockets never need it, and idle memory counts.
  #queue: Array<() => void | Promise<void>> | undefined;
  #busy = false;
  readonly #owner: TaskOwner;

  /** `owner.taskFailed` hears of every task that throws or rejects. */
  constructor(owner: TaskOwner) {
    this.#owner = owner;
  }

  get pending(): number {
    return this.#queue?.length ?? 0;
  }

  /** True when a task given now would run at once. */
  get idle(): boolean {
    return !this.#busy && !this.#queue?.length;
  }

  /**
   * For a caller that ran a task itself because the executor was idle (no closure on the
   * fast path): if that task turned out asynchronous, later tasks wait for it.
   */
  waitFor(pending: void | Promise<void>): void {
    if (!(pending instanceof Promise)) return;
    this.#busy = true;
    pending.catch((error) => this.#owner.taskFailed(error)).finally(() => this.#next());
  }

  run(task: () => void | Promise<void>): void {
    if (this.#busy) {
      (this.#queue ??= []).push(task);
      return;
    }
    this.#execute(task);
  }

  #execute(task: () => void | Promise<void>): void {
    // Busy during synchronous work too: a task that re-entrantly schedules another must
    // not see it run before the tasks already queued.
    this.#busy = true;
    let result: void | Promise<void>;
    try {
      result = task();
    } catch (error) {
      this.#owner.taskFailed(error);
      result = undefined;
    }
    if (result instanceof Promise) {
      result.catch((error) => this.#owner.taskFailed(error)).finally(() => this.#next());
    } else {
      this.#next();
    }
  }

  #next(): void {
    this.#busy = false;
    const task = this.#queue?.shift();
    if (task) this.#execute(task);
  }
}
