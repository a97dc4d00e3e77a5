// Load generator: a child process driven by bench/run.ts over IPC (process.send).
// It holds the client side of every connection, generates the load, timestamps every
// message, measures delivery, latency, its own CPU/event-loop health, and samples the
// server's CPU time from /proc/<serverPid>/stat at the exact edges of each measuring
// window. The same code drives every target; only bench/lib/protocols.ts differs.

import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { adapters, type Adapter, type PairSockets } from './lib/protocols.ts';
import { MAX_WRITE_BACKLOG, type RawWs } from './lib/raw-ws.ts';
import { orchestratorReply, serveOrchestrator } from './lib/orchestrator-channel.ts';
import { percentiles } from './lib/percentiles.ts';
import { procCpuSplitUs, procCpuUs } from './lib/proc-readings.ts';
import type { FromLoadGen, PhaseResult, TargetRef, ToLoadGen } from './lib/messages.ts';

const reply = orchestratorReply<FromLoadGen>('load-generator.ts', 'bench/run.ts');

const PAD = 'x'.repeat(1024);
const TAIL = `,"pad":"${PAD}"}`; // closes the payload object
const BTS = Buffer.from('"bts":');
const BSEQ = Buffer.from('"bseq":');
/** Frames per receiving connection that get a full JSON.parse shape check. */
const CHECK_FIRST = 3;
/** Latency samples kept per measuring window (bounded memory). */
const MAX_SAMPLES = 4_000_000;
const DRAIN_MS = 3000;

interface Stream {
  dir: 'ab' | 'ba';
  pair: PairSockets;
  from: RawWs;
  to: RawWs;
  head: string; // prefix + '{"bts":'
  tail: string; // TAIL + adapter suffix
  sent: number;
  recv: number;
  nextSeq: number;
  checksLeft: number;
}

let adapter: Adapter | null = null;
let target: TargetRef | null = null;
const pairs: PairSockets[] = [];
const streams: Stream[] = [];

// Hot-path state (module-level for speed).
let windowMode = false; // closed-loop: every delivery triggers the next send on that stream
let running = false;
let measuring = false;
let sentTotal = 0;
let recvTotal = 0;
let skipped = 0;
let outOfOrder = 0;
let badFrames = 0;
let badSample: string | null = null;
let closedConns = 0;
let closeSample: string | null = null;
const lat = new Float64Array(MAX_SAMPLES);
let latN = 0;

function sendOne(s: Stream): void {
  if (s.from.closed) return;
  if (s.from.backlog() > MAX_WRITE_BACKLOG) {
    skipped++;
    return;
  }
  const ts = Math.round(performance.now() * 1000);
  s.from.sendText(s.head + ts + ',"bseq":' + s.sent + s.tail);
  s.sent++;
  sentTotal++;
}

function readUint(buf: Buffer, p: number, end: number): [number, number] {
  let v = 0;
  let c = buf[p]!;
  const start = p;
  while (p < end && c >= 48 && c <= 57) {
    v = v * 10 + (c - 48);
    c = buf[++p]!;
  }
  return [p === start ? -1 : v, p];
}

function bad(text: string): void {
  badFrames++;
  if (badSample === null) badSample = text.slice(0, 300);
}

function onDelivered(s: Stream, buf: Buffer, start: number, end: number): void {
  const now = performance.now() * 1000;
  const i = buf.indexOf(BTS, start);
  if (i < 0 || i >= end) return bad(`unexpected frame: ${buf.toString('utf8', start, Math.min(end, start + 300))}`);
  const [ts, p] = readUint(buf, i + BTS.length, end);
  const j = buf.indexOf(BSEQ, p);
  if (ts < 0 || j < 0 || j >= end) return bad(`unparsable payload: ${buf.toString('utf8', start, Math.min(end, start + 300))}`);
  const [seq] = readUint(buf, j + BSEQ.length, end);
  if (seq !== s.nextSeq) outOfOrder++;
  s.nextSeq = seq + 1;
  s.recv++;
  recvTotal++;
  if (measuring && latN < MAX_SAMPLES) lat[latN++] = (now - ts) / 1000;
  if (s.checksLeft > 0) {
    s.checksLeft--;
    let msg: unknown;
    try {
      msg = JSON.parse(buf.toString('utf8', start, end));
    } catch {
      return bad(`invalid JSON delivered: ${buf.toString('utf8', start, Math.min(end, start + 300))}`);
    }
    const err = adapter!.checkDelivered(s.dir, s.pair, msg);
    if (err !== null) bad(err);
  }
  if (windowMode && running) sendOne(s);
}

function onClosed(reason: string): void {
  closedConns++;
  if (closeSample === null) closeSample = reason;
}

// ------------------------------------------------------------------ setup

async function setup(m: Extract<ToLoadGen, { type: 'setup' }>): Promise<void> {
  adapter = adapters[m.target.protocol];
  target = m.target;
  const t0 = performance.now();
  const ep = { host: m.target.host, port: m.target.port };
  const deadline = Date.now() + m.timeoutMs;
  // Open pairs a few at a time (bounded concurrency, bounded total time).
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < m.pairs) {
      if (Date.now() > deadline) throw new Error(`setup did not finish within ${m.timeoutMs} ms`);
      const i = next++;
      pairs[i] = await adapter!.openPair(ep, i, Math.max(1000, deadline - Date.now()), m.batch);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  for (const p of pairs) {
    const tail = TAIL + adapter.suffix;
    const ab: Stream = { dir: 'ab', pair: p, from: p.a, to: p.b, head: adapter.prefixAB(p) + '{"bts":', tail, sent: 0, recv: 0, nextSeq: 0, checksLeft: CHECK_FIRST };
    const ba: Stream = { dir: 'ba', pair: p, from: p.b, to: p.a, head: adapter.prefixBA(p) + '{"bts":', tail, sent: 0, recv: 0, nextSeq: 0, checksLeft: CHECK_FIRST };
    streams.push(ab, ba);
    p.b.setHandler((buf, s, e) => onDelivered(ab, buf, s, e));
    p.a.setHandler((buf, s, e) => onDelivered(ba, buf, s, e));
    p.a.onClose = onClosed;
    p.b.onClose = onClosed;
  }
  const ka = adapter.keepalive;
  if (ka) {
    setInterval(() => {
      for (const p of pairs) {
        p.a.sendText(ka.text);
        p.b.sendText(ka.text);
      }
    }, ka.intervalMs).unref();
  }
  reply({ type: 'setup-done', ms: Math.round(performance.now() - t0) });
}

// ------------------------------------------------------------------ phases

interface Snap {
  t: number;
  sent: number;
  recv: number;
  srvCpuUs: number;
  srvSysUs: number;
  lgCpu: NodeJS.CpuUsage;
  elu: ReturnType<typeof performance.eventLoopUtilization>;
}

function snap(): Snap {
  const srv = procCpuSplitUs(target!.serverPid);
  return {
    t: performance.now(),
    sent: sentTotal,
    recv: recvTotal,
    srvCpuUs: srv.user + srv.system,
    srvSysUs: srv.system,
    lgCpu: process.cpuUsage(),
    elu: performance.eventLoopUtilization(),
  };
}

function resetCounters(): void {
  closedConns = 0;
  closeSample = null;
  skipped = 0;
  outOfOrder = 0;
  badFrames = 0;
  badSample = null;
  latN = 0;
}

let lostSoFar = 0;
/** Wait (bounded) until everything sent was delivered; return the messages lost in this phase. */
async function drain(): Promise<number> {
  const until = performance.now() + DRAIN_MS;
  while (performance.now() < until && recvTotal + lostSoFar < sentTotal) await sleep(20);
  let lostTotal = 0;
  for (const s of streams) {
    if (s.recv < s.sent) lostTotal += s.sent - s.recv;
  }
  const lost = lostTotal - lostSoFar;
  lostSoFar = lostTotal;
  return lost;
}

function phaseResult(
  phase: 'throughput' | 'fixed',
  a: Snap,
  b: Snap,
  extra: { offeredRate: number | null; window: number | null; eldP99Ms: number; pacerLagMs: PhaseResult['pacerLagMs']; lost: number; skippedInWindow: number },
): PhaseResult {
  const dt = (b.t - a.t) / 1000;
  const delivered = b.recv - a.recv;
  const sent = b.sent - a.sent;
  const srvCpu = b.srvCpuUs - a.srvCpuUs;
  const lgCpu = b.lgCpu.user + b.lgCpu.system - (a.lgCpu.user + a.lgCpu.system);
  const elu = performance.eventLoopUtilization(b.elu, a.elu).utilization;
  const r: PhaseResult = {
    phase,
    durationS: dt,
    offeredRate: extra.offeredRate,
    window: extra.window,
    sent,
    sentRate: sent / dt,
    delivered,
    deliveredRate: delivered / dt,
    latencyMs: percentiles(lat, latN),
    serverCpuCores: srvCpu / 1e6 / dt,
    serverCpuUsPerMsg: delivered > 0 ? srvCpu / delivered : NaN,
    serverSysUsPerMsg: delivered > 0 ? (b.srvSysUs - a.srvSysUs) / delivered : NaN,
    loadGenCpuCores: lgCpu / 1e6 / dt,
    loadGenElu: elu,
    loadGenEventLoopDelayP99Ms: extra.eldP99Ms,
    pacerLagMs: extra.pacerLagMs,
    skipped: extra.skippedInWindow,
    lost: extra.lost,
    outOfOrder,
    badFrames,
    badSample,
    closedConnections: closedConns,
    closeSample,
    warnings: [],
  };
  const w = (kind: string, text: string): void => {
    r.warnings.push({ kind, text });
  };
  // Is the load generator itself the limit?
  const lgBusy = r.loadGenCpuCores >= 0.9 || r.loadGenElu >= 0.95;
  if (phase === 'throughput') {
    if (lgBusy) {
      w(
        'lg-saturated',
        `load generator saturated (cpu ${r.loadGenCpuCores.toFixed(2)} cores, event-loop utilization ${(r.loadGenElu * 100).toFixed(0)}%) ` +
          `while the server used ${r.serverCpuCores.toFixed(2)} cores: max throughput is a lower bound, partly limited by the load generator`,
      );
    } else if (r.serverCpuCores < 0.85) {
      w(
        'server-not-saturated',
        `the server used only ${r.serverCpuCores.toFixed(2)} cores at max throughput (load generator ELU ${(r.loadGenElu * 100).toFixed(0)}%): ` +
          'the limit was elsewhere (machine contention, or too small a --window)',
      );
    }
  } else {
    const rate = extra.offeredRate ?? 0;
    if (r.sentRate < rate * 0.97) w('lg-underrun', `load generator sent only ${r.sentRate.toFixed(0)} msg/s of the ${rate} offered (${r.skipped} sends skipped)`);
    if (r.serverCpuCores >= 0.85) {
      w(
        'server-near-saturation',
        `the server used ${r.serverCpuCores.toFixed(2)} cores at this fixed load: paced traffic costs more per message than the batched closed-loop maximum, ` +
          'so this load is near saturation — latency is mostly queueing (try --rate-fraction 0.25)',
      );
    }
    if (lgBusy || r.loadGenCpuCores >= 0.8) w('lg-busy', `load generator busy at fixed load (cpu ${r.loadGenCpuCores.toFixed(2)} cores, ELU ${(r.loadGenElu * 100).toFixed(0)}%): latency includes its queueing`);
    if (r.pacerLagMs && r.pacerLagMs.p99 > 5 && r.pacerLagMs.p99 > 0.25 * r.latencyMs.p99) w('pacer-late', `open-loop pacer ran late (p99 ${r.pacerLagMs.p99.toFixed(2)} ms behind schedule): the load generator was stalled, not the server`);
    if (extra.eldP99Ms > 20) w('lg-loop-delay', `load generator event-loop delay p99 ${extra.eldP99Ms.toFixed(1)} ms`);
  }
  if (r.lost > 0) w('lost', `${r.lost} messages sent but not delivered within ${DRAIN_MS} ms after the phase`);
  if (r.badFrames > 0) w('bad-frames', `${r.badFrames} unexpected frames delivered, e.g. ${r.badSample}`);
  if (r.outOfOrder > 0) w('out-of-order', `${r.outOfOrder} messages delivered out of order`);
  if (r.closedConnections > 0) w('closed', `${r.closedConnections} connections closed during the run, e.g. ${r.closeSample}`);
  return r;
}

/**
 * The measuring window: latency samples, snapshots at its edges, the load generator's
 * event-loop delay in it, and the sends skipped in it.
 */
async function measuringWindow(durationMs: number): Promise<{ a: Snap; b: Snap; eldP99Ms: number; skippedInWindow: number }> {
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  latN = 0;
  measuring = true;
  const skipped0 = skipped;
  const a = snap();
  await sleep(durationMs);
  const b = snap();
  measuring = false;
  eld.disable();
  return { a, b, eldP99Ms: eld.percentile(99) / 1e6, skippedInWindow: skipped - skipped0 };
}

async function throughput(m: Extract<ToLoadGen, { type: 'throughput' }>): Promise<void> {
  resetCounters();
  windowMode = true;
  running = true;
  for (const s of streams) for (let k = 0; k < m.window; k++) sendOne(s);
  await sleep(m.warmupMs);
  const { a, b, eldP99Ms, skippedInWindow } = await measuringWindow(m.durationMs);
  running = false;
  windowMode = false;
  const lost = await drain();
  reply({
    type: 'phase-done',
    result: phaseResult('throughput', a, b, { offeredRate: null, window: m.window, eldP99Ms, pacerLagMs: null, lost, skippedInWindow }),
  });
}

async function fixed(m: Extract<ToLoadGen, { type: 'fixed' }>): Promise<void> {
  resetCounters();
  // Re-sync per-stream order tracking after the previous phase's drain.
  for (const s of streams) s.nextSeq = s.sent;
  windowMode = false;
  running = true;
  const rate = m.rate;
  const S = streams.length;
  // After a stall the pacer catches up (open loop: late messages are still sent), but
  // never more than 200 ms worth at once; beyond that, sends are skipped and counted.
  const maxBurst = Math.max(1, Math.ceil(rate / 5));
  const lags = new Float64Array(Math.ceil((m.durationMs / 1000) * 2000) + 1000);
  let lagN = 0;
  let rr = 0;
  let scheduled = 0;
  const t0 = performance.now();
  let timer: NodeJS.Timeout | null = null;
  // Open loop: every ~1 ms, send all messages that are due by now, round-robin over
  // the 2 × pairs directed streams, regardless of what has been delivered.
  const tick = (): void => {
    if (!running) return;
    const now = performance.now();
    const due = Math.floor(((now - t0) * rate) / 1000);
    let n = due - scheduled;
    if (n > maxBurst) {
      skipped += n - maxBurst;
      scheduled += n - maxBurst;
      n = maxBurst;
    }
    if (n > 0) {
      if (measuring && lagN < lags.length) lags[lagN++] = now - (t0 + ((scheduled + 1) * 1000) / rate);
      for (let k = 0; k < n; k++) {
        sendOne(streams[rr]!);
        rr = rr + 1 === S ? 0 : rr + 1;
      }
      scheduled += n;
    }
    timer = setTimeout(tick, 1);
  };
  tick();
  await sleep(m.warmupMs);
  lagN = 0;
  const { a, b, eldP99Ms, skippedInWindow } = await measuringWindow(m.durationMs);
  running = false;
  if (timer) clearTimeout(timer);
  const lost = await drain();
  reply({
    type: 'phase-done',
    result: phaseResult('fixed', a, b, {
      offeredRate: rate,
      window: null,
      eldP99Ms,
      pacerLagMs: percentiles(lags, lagN),
      lost,
      skippedInWindow,
    }),
  });
}

// ------------------------------------------------------------------ idle connections

const idleConns: RawWs[] = [];
let idleFrames = 0;

async function idleOpen(m: Extract<ToLoadGen, { type: 'idle-open' }>): Promise<void> {
  const ad = adapters[m.target.protocol];
  const ep = { host: m.target.host, port: m.target.port };
  const t0 = performance.now();
  const deadline = Date.now() + m.timeoutMs;
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  const worker = async (): Promise<void> => {
    while (next < m.count && Date.now() < deadline && failed < 50) {
      const i = m.start + next++;
      const local = m.localAddresses.length > 0 ? m.localAddresses[i % m.localAddresses.length] : undefined;
      try {
        const ws = await ad.openIdle(ep, `${m.idPrefix}${i}`, local, Math.max(1000, Math.min(15000, deadline - Date.now())));
        ws.setHandler(() => {
          idleFrames++;
        });
        ws.onClose = onClosed;
        idleConns.push(ws);
      } catch (e) {
        failed++;
        firstError ??= (e as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, m.concurrency) }, worker));
  if (next < m.count && failed < 50) {
    failed += m.count - next;
    firstError ??= `not all connections opened within ${m.timeoutMs} ms`;
  }
  reply({ type: 'idle-opened', connected: idleConns.length, failed, ms: Math.round(performance.now() - t0), firstError });
}

// BENCH_DEBUG=1: one line per second on stderr (rates, CPU, worst write backlog, loop delay).
if (process.env['BENCH_DEBUG']) {
  let last = { t: performance.now(), sent: 0, recv: 0, cpu: process.cpuUsage(), srv: 0 };
  const h = monitorEventLoopDelay({ resolution: 2 });
  h.enable();
  setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const srv = target ? procCpuUs(target.serverPid) : 0;
    const dt = (now - last.t) / 1000;
    let maxBacklog = 0;
    for (const s of streams) maxBacklog = Math.max(maxBacklog, s.from.backlog());
    const inflight = sentTotal - recvTotal - lostSoFar;
    console.error(
      `[lg] sent/s ${((sentTotal - last.sent) / dt).toFixed(0)} recv/s ${((recvTotal - last.recv) / dt).toFixed(0)} inflight ${inflight} ` +
        `lg cpu ${((cpu.user + cpu.system - last.cpu.user - last.cpu.system) / 1e6 / dt).toFixed(2)} srv cpu ${((srv - last.srv) / 1e6 / dt).toFixed(2)} ` +
        `max backlog ${maxBacklog} eld max ${(h.max / 1e6).toFixed(1)} ms skipped ${skipped}`,
    );
    h.reset();
    last = { t: now, sent: sentTotal, recv: recvTotal, cpu, srv };
  }, 1000).unref();
}

// ------------------------------------------------------------------ IPC

function closeAll(): void {
  running = false;
  for (const p of pairs) {
    p.a.onClose = null;
    p.b.onClose = null;
    p.a.close();
    p.b.close();
  }
  for (const ws of idleConns) {
    ws.onClose = null;
    ws.close();
  }
}

serveOrchestrator<ToLoadGen>((m) => {
  switch (m.type) {
    case 'setup':
      return setup(m);
    case 'throughput':
      return throughput(m);
    case 'fixed':
      return fixed(m);
    case 'idle-open':
      return idleOpen(m);
    case 'idle-status': {
      const open = idleConns.filter((c) => !c.closed).length;
      reply({ type: 'idle-status', open, closed: idleConns.length - open, closeSample, framesAfterSetup: idleFrames });
      return;
    }
  }
}, closeAll);
