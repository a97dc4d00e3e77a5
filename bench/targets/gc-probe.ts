// Memory probe, loaded into a target process with
//   node --expose-gc --import ./bench/targets/gc-probe.ts <entry> …
// (Switchboard) or imported by a target script (bare-idle.ts). When the process was
// spawned with an IPC channel, the message {"type":"mem"} makes it collect garbage and
// answer with process.memoryUsage() and the V8 heap spaces. Without an IPC channel it
// does nothing.
//
// Two readings per request:
// - `forced`: after two ordinary full GCs (the second frees what finalizers of the first
//   released). The young generation keeps every page it has ever touched, so its RSS
//   depends on how much the process happened to allocate lately (up to 3 × the
//   semi-space, 64 MiB each on a 24 GiB machine), not on what it holds.
// - the main reading: after a "last-resort" GC, the one V8 runs under memory pressure.
//   It also shrinks the young generation to what it holds (nothing, after a full GC),
//   so RSS counts what the process retains. Every target gets the same treatment.

import v8 from 'node:v8';

export interface MemSample {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Resident bytes of V8's young generation (new space). */
  newSpaceResident: number;
}

export interface MemReply extends MemSample {
  type: 'mem';
  forced: MemSample;
  error?: string;
}

function sample(): MemSample {
  const m = process.memoryUsage();
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return {
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    newSpaceResident: newSpace?.physical_space_size ?? 0,
  };
}

type Gc = (options?: { type?: 'major'; execution?: 'sync'; flavor?: 'regular' | 'last-resort' }) => void;

if (typeof process.send === 'function') {
  const gc = (globalThis as { gc?: Gc }).gc;
  process.on('message', (msg: unknown) => {
    if (msg === null || typeof msg !== 'object' || (msg as { type?: unknown }).type !== 'mem') return;
    if (typeof gc !== 'function') {
      const now = sample();
      process.send!({ type: 'mem', ...now, forced: now, error: 'global.gc is missing (start with --expose-gc)' } satisfies MemReply);
      return;
    }
    gc();
    gc();
    const forced = sample();
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    process.send!({ type: 'mem', ...sample(), forced } satisfies MemReply);
  });
  // Do not keep a target alive just because the orchestrator holds the channel.
  process.channel?.unref();
}
