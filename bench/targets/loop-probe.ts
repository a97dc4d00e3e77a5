// Event-loop probe, loaded into a target process with
//   node --import ./bench/targets/loop-probe.ts <entry> …
// When spawned with an IPC channel, {"type":"loop","op":"start"} starts a window and
// {"type":"loop","op":"stop"} answers with what the process's own event loop went
// through in it: its delay (beyond the 2 ms sampling timer), its utilization, and the
// GC pauses. That tells a slow ack caused by the server (GC, a long task) from one
// caused by the load generator or the machine. Without an IPC channel it does nothing.

import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';

const RESOLUTION_MS = 2;

export interface LoopReply {
  type: 'loop';
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  elu: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
}

if (typeof process.send === 'function') {
  const eld = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  let elu0 = performance.eventLoopUtilization();
  let gc = { count: 0, total: 0, max: 0 };
  let on = false;
  const obs = new PerformanceObserver((list) => {
    if (!on) return;
    for (const e of list.getEntries()) {
      gc.count++;
      gc.total += e.duration;
      if (e.duration > gc.max) gc.max = e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const lag = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  process.on('message', (msg: unknown) => {
    const m = msg as { type?: unknown; op?: unknown } | null;
    if (m?.type !== 'loop') return;
    if (m.op === 'start') {
      eld.reset();
      eld.enable();
      elu0 = performance.eventLoopUtilization();
      gc = { count: 0, total: 0, max: 0 };
      on = true;
      return;
    }
    on = false;
    eld.disable();
    process.send!({
      type: 'loop',
      lagP50Ms: lag(eld.percentile(50)),
      lagP99Ms: lag(eld.percentile(99)),
      lagMaxMs: lag(eld.max),
      elu: performance.eventLoopUtilization(elu0).utilization,
      gcCount: gc.count,
      gcTotalMs: gc.total,
      gcMaxMs: gc.max,
    } satisfies LoopReply);
  });
  // Do not keep a target alive just because the orchestrator holds the channel.
  process.channel?.unref();
}
