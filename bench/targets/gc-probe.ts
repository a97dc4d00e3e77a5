// Memory probe, loaded into a target process with
//   node --expose-gc --import ./bench/targets/gc-probe.ts <entry> …
// (Switchboard) or imported by a target script (bare-idle.ts). When the process was
// spawned with an IPC channel, the message {"type":"mem"} makes it run a full GC
// (twice, so objects freed by finalizers of the first pass go too) and answer with
// process.memoryUsage(). Without an IPC channel it does nothing.

export interface MemReply {
  type: 'mem';
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  error?: string;
}

if (typeof process.send === 'function') {
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (msg: unknown) => {
    if (msg === null || typeof msg !== 'object' || (msg as { type?: unknown }).type !== 'mem') return;
    const m0 = process.memoryUsage();
    if (typeof gc !== 'function') {
      process.send!({ type: 'mem', ...m0, error: 'global.gc is missing (start with --expose-gc)' } satisfies MemReply);
      return;
    }
    gc();
    gc();
    const m = process.memoryUsage();
    process.send!({ type: 'mem', rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers } satisfies MemReply);
  });
  // Do not keep a target alive just because the orchestrator holds the channel.
  process.channel?.unref();
}
