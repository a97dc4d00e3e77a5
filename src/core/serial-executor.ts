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

  /** After a task ran at once (runWith): if it turned out asynchronous, later tasks wait for it. */
  #waitFor(pending: void | Promise<void>): void {
    if (!(pending instanceof Promise)) return;
    this.#busy = true;
    pending.catch((error) => this.#owner.taskFailed(error)).finally(() => this.#next());
  }

  /**
   * `task.call(self, a, b)`, at once when idle, else behind the tasks already waiting. The
   * hot-path form of run: a socket's next frame usually finds the executor idle, and then
   * no closure is made for it.
   */
  runWith<S, A, B>(task: (this: S, a: A, b: B) => void | Promise<void>, self: S, a: A, b: B): void {
    if (this.idle) this.#waitFor(task.call(self, a, b));
    else this.run(() => task.call(self, a, b));
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
