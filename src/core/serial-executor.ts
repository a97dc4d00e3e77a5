/**
 * Runs tasks one after another, in arrival order. A task that finishes synchronously costs
 * nothing extra; only while an asynchronous task is pending do later ones wait in a queue.
 * Signaling needs this: a socket's messages must take effect in the order they were sent
 * even when one of them has to ask the cluster something first.
 */
export class SerialExecutor {
  // Allocated on first contention: most sockets never need it, and idle memory counts.
  #queue: Array<() => void | Promise<void>> | undefined;
  #busy = false;
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  get pending(): number {
    return this.#queue?.length ?? 0;
  }

  /** True when a task given now would run at once. */
  get idle(): boolean {
    return !this.#busy && !this.#queue?.length;
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
      this.#onError(error);
      result = undefined;
    }
    if (result instanceof Promise) {
      result.catch(this.#onError).finally(() => this.#next());
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
