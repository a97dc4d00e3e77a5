// A load generator's end of its IPC channel to the orchestrator (the other end:
// LoadGenChild in ./child-procs.ts). Requests are handled one at a time, in order; a
// request that throws is answered with {type:'error', message}; {type:'close'}, or the
// channel going away, closes everything and exits.

type Typed = { type: string };

/** Exits unless the process was started with an IPC channel; returns the function that answers the orchestrator. */
export function orchestratorReply<From extends Typed>(script: string, startedBy: string): (m: From) => void {
  if (typeof process.send !== 'function') {
    console.error(`${script} is started by ${startedBy} (it needs an IPC channel)`);
    process.exit(2);
  }
  return (m) => {
    process.send!(m);
  };
}

/** Serves the orchestrator's requests from now on and announces `ready`. */
export function serveOrchestrator<To extends Typed>(handle: (m: Exclude<To, { type: 'close' }>) => Promise<void> | void, closeAll: () => void): void {
  const exitSoon = (): void => {
    setTimeout(() => process.exit(0), 200).unref();
  };
  let busy: Promise<void> = Promise.resolve();
  process.on('message', (raw) => {
    const m = raw as To;
    busy = busy
      .then(async () => {
        if (m.type !== 'close') return handle(m as Exclude<To, { type: 'close' }>);
        closeAll();
        process.disconnect();
        exitSoon();
      })
      .catch((e: unknown) => {
        process.send!({ type: 'error', message: e instanceof Error ? e.message : String(e) });
      });
  });
  process.on('disconnect', () => {
    closeAll();
    exitSoon();
  });
  process.send!({ type: 'ready' });
}
