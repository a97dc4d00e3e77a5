// Load generator of the mobz bench: a child process driven by bench/mobz.ts over IPC.
// It holds every member's socket, joins the m2m rooms, heartbeats every member
// (send_ack) and runs the OFFER/ANSWER/ICE exchanges, both from one open-loop pacer
// (sends are due on a fixed schedule whatever the server answers), and measures
// heartbeat → ack and send → forward latency, the server's CPU time and RSS from /proc
// at the window edges, and its own CPU, event-loop utilization and delay.

import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FromMobzLoadGen, MobzResult, MobzSetup, ToMobzLoadGen } from './lib/mobz-messages.ts';
import { BID, BK, BTS, BX, EXCHANGE_SIGNALS, HB_SUFFIX, hbPrefix, joinText, Kind, kindOf, memberId, signalText, toAnswerer, uintAfter, type MemberId } from './lib/mobz-wire.ts';
import { orchestratorReply, serveOrchestrator } from './lib/orchestrator-channel.ts';
import { percentiles } from './lib/percentiles.ts';
import { clockTicks, cpuTicks, procCpuUs, procRssBytes } from './lib/proc-readings.ts';
import { connectWs, MAX_WRITE_BACKLOG, type RawWs } from './lib/raw-ws.ts';

const reply = orchestratorReply<FromMobzLoadGen>('mobz-load-generator.ts', 'bench/mobz.ts');

const DRAIN_MS = 3000;
/** One delivered frame in this many gets a full JSON.parse shape check. */
const CHECK_EVERY = 250;
/** Event-loop delay sampling period; the histogram includes it, so it is subtracted. */
const ELD_RESOLUTION_MS = 2;

interface Member {
  readonly i: number;
  readonly id: MemberId;
  readonly hbHead: string;
  ws: RawWs | null;
  joined: boolean;
  joinWaiter: ((error: string | null) => void) | null;
}

let cfg: MobzSetup;
const members: Member[] = [];

// ---- counters (module-level: the hot path touches them per frame)
let hbSeq = 0;
let hbAcked = 0;
let hbSentAt = new Float64Array(1 << 16);
let hbOwner = new Int32Array(1 << 16);
let hbAck = new Uint8Array(1 << 16);
let exSeq = 0;
let exOfferer = new Int32Array(1 << 14);
let exAnswerer = new Int32Array(1 << 14);
let exGot = new Uint8Array(1 << 14);
let signalsSent = 0;
let signalsDelivered = 0;
let skipped = 0;
let joinAcks = 0;
let plc = 0;
let errorAcks = 0;
let errorSample: string | null = null;
let badFrames = 0;
let badSample: string | null = null;
let closed = 0;
let closeSample: string | null = null;
let framesSeen = 0;
/** Worst heartbeat ack since the last BENCH_DEBUG line. */
let secMaxHb = 0;
/** Heartbeats from here on were sent with every room complete: their acks list all members. */
let hbFullFrom = Infinity;

// ---- measuring window: heartbeats by sequence number, signals by their send timestamp (µs)
let winHbFrom = Infinity;
let winHbTo = Infinity;
let winUsFrom = Infinity;
let winUsTo = Infinity;
let hbLat = new Float64Array(0);
let hbLatN = 0;
let fwdLat = new Float64Array(0);
let fwdLatN = 0;

function grow<T extends Float64Array | Int32Array | Uint8Array>(a: T, need: number): T {
  if (need < a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(a.length * 2, need + 1));
  b.set(a);
  return b;
}

const bad = (text: string): void => {
  badFrames++;
  badSample ??= text.slice(0, 300);
};
const frameText = (buf: Buffer, start: number, end: number): string => buf.toString('utf8', start, end);
const canSend = (m: Member): boolean => m.ws !== null && !m.ws.closed && m.ws.backlog() <= MAX_WRITE_BACKLOG;

// ---------------------------------------------------------------- sending

function sendHeartbeat(m: Member): void {
  if (!m.joined) return; // still in setup: its JOIN opened its window
  if (!canSend(m)) {
    skipped++;
    return;
  }
  const seq = hbSeq++;
  if (seq >= hbSentAt.length) {
    hbSentAt = grow(hbSentAt, seq);
    hbOwner = grow(hbOwner, seq);
    hbAck = grow(hbAck, seq);
  }
  hbSentAt[seq] = performance.now();
  hbOwner[seq] = m.i;
  m.ws!.sendText(m.hbHead + seq + HB_SUFFIX);
}

function sendSignal(from: Member, to: Member, bk: number, bx: number): void {
  if (!canSend(from)) {
    skipped++;
    return;
  }
  from.ws!.sendText(signalText(from.id, to.id, bk, bx, Math.round(performance.now() * 1000), cfg.sdpChars));
  signalsSent++;
}

/** Exchange `x` in room `x % rooms`; offerer and answerer rotate so every pair talks. */
function startExchange(): void {
  const x = exSeq;
  const M = cfg.members;
  const room = x % cfg.rooms;
  const round = Math.floor(x / cfg.rooms);
  const o = round % M;
  const a = (o + 1 + (Math.floor(round / M) % (M - 1))) % M;
  const offerer = members[room * M + o]!;
  const answerer = members[room * M + a]!;
  if (!offerer.joined || !answerer.joined) return;
  exSeq++;
  if (x >= exOfferer.length) {
    exOfferer = grow(exOfferer, x);
    exAnswerer = grow(exAnswerer, x);
    exGot = grow(exGot, x);
  }
  exOfferer[x] = offerer.i;
  exAnswerer[x] = answerer.i;
  for (let bk = 0; bk < 3; bk++) sendSignal(offerer, answerer, bk, x);
}

// ---------------------------------------------------------------- receiving

function onFrame(m: Member, buf: Buffer, start: number, end: number): void {
  framesSeen++;
  switch (kindOf(buf, start, end)) {
    case Kind.hbAck:
      return onHeartbeatAck(m, buf, start, end);
    case Kind.signal:
      return onSignal(m, buf, start, end);
    case Kind.publishListChanged:
      plc++;
      if (framesSeen % CHECK_EVERY === 0) checkShape(m, frameText(buf, start, end), 'PUBLISH_LIST_CHANGED');
      return;
    case Kind.joinAck:
      return onJoinAck(m, frameText(buf, start, end));
    case Kind.keepalive:
      return;
    case Kind.errorAck: {
      errorAcks++;
      const text = frameText(buf, start, end);
      errorSample ??= `${m.id.userId}: ${text.slice(0, 300)}`;
      if (m.joinWaiter) m.joinWaiter(`error ack to JOIN of ${m.id.userId}: ${text.slice(0, 300)}`);
      return;
    }
    default:
      return bad(`unexpected frame to ${m.id.userId}: ${frameText(buf, start, Math.min(end, start + 300))}`);
  }
}

function onHeartbeatAck(m: Member, buf: Buffer, start: number, end: number): void {
  const now = performance.now();
  const seq = uintAfter(buf, BID, start, end, true);
  if (seq < 0 || seq >= hbSeq) return bad(`HEARTBEAT ack with an unknown bid: ${frameText(buf, start, Math.min(end, start + 300))}`);
  if (hbOwner[seq] !== m.i) return bad(`HEARTBEAT ack for bid ${seq} reached ${m.id.userId}, not its sender`);
  if (hbAck[seq] === 1) return bad(`HEARTBEAT ack for bid ${seq} twice`);
  hbAck[seq] = 1;
  hbAcked++;
  const ms = now - hbSentAt[seq]!;
  if (ms > secMaxHb) secMaxHb = ms;
  if (seq >= winHbFrom && seq < winHbTo && hbLatN < hbLat.length) hbLat[hbLatN++] = ms;
  if (hbAcked % CHECK_EVERY === 1) checkShape(m, frameText(buf, start, end), 'HEARTBEAT', String(seq));
}

function onSignal(m: Member, buf: Buffer, start: number, end: number): void {
  const nowUs = performance.now() * 1000;
  const ts = uintAfter(buf, BTS, start, end);
  const x = uintAfter(buf, BX, start, end);
  const bk = uintAfter(buf, BK, start, end);
  if (ts < 0 || x < 0 || x >= exSeq || bk < 0 || bk >= EXCHANGE_SIGNALS) return bad(`unparsable forwarded signal: ${frameText(buf, start, Math.min(end, start + 300))}`);
  const offerer = exOfferer[x]!;
  const answerer = exAnswerer[x]!;
  if (m.i !== (toAnswerer(bk) ? answerer : offerer)) return bad(`signal ${bk} of exchange ${x} reached ${m.id.userId}, not its recipient`);
  const bit = 1 << bk;
  if (exGot[x]! & bit) return bad(`signal ${bk} of exchange ${x} delivered twice`);
  exGot[x] = exGot[x]! | bit;
  signalsDelivered++;
  if (ts >= winUsFrom && ts < winUsTo && fwdLatN < fwdLat.length) fwdLat[fwdLatN++] = (nowUs - ts) / 1000;
  if (signalsDelivered % CHECK_EVERY === 1) checkShape(m, frameText(buf, start, end), 'signal', members[toAnswerer(bk) ? offerer : answerer]!.id.userId);
  // The answerer answers the OFFER at once, then trickles its two candidates.
  if (bk === 0) for (let k = 3; k < EXCHANGE_SIGNALS; k++) sendSignal(m, members[offerer]!, k, x);
}

function onJoinAck(m: Member, text: string): void {
  joinAcks++;
  checkShape(m, text, 'JOIN');
  const w = m.joinWaiter;
  m.joinWaiter = null;
  m.joined = true;
  w?.(null);
}

/** Full parse of a sample of frames: the byte-level scan above trusts their shape. */
function checkShape(m: Member, text: string, what: 'JOIN' | 'HEARTBEAT' | 'PUBLISH_LIST_CHANGED' | 'signal', expect = ''): void {
  let f: { c?: unknown; s?: unknown; b?: { pps?: unknown; rid?: unknown; bid?: unknown; pt?: unknown }; ss?: { userId?: unknown }; to?: { userId?: unknown }; rid?: unknown };
  try {
    f = JSON.parse(text);
  } catch {
    return bad(`invalid JSON to ${m.id.userId}: ${text.slice(0, 300)}`);
  }
  const fail = (why: string): void => bad(`${what} to ${m.id.userId}: ${why}: ${text.slice(0, 300)}`);
  if (what === 'signal') {
    if (f.rid !== m.id.rid) return fail('wrong rid');
    if (f.to?.userId !== m.id.userId) return fail('wrong "to"');
    if (f.ss?.userId !== expect) return fail(`"ss" is not the sender ${expect}`);
    return;
  }
  if (f.c !== 200 || f.s !== what || typeof f.b !== 'object' || f.b === null) return fail('not a 200 ack');
  if (f.b.rid !== m.id.rid) return fail('wrong rid');
  if (!Array.isArray(f.b.pps) || f.b.pps.some((p: { role?: unknown }) => p.role !== 'admin' && p.role !== 'publisher')) return fail('pps is not a list of publishers');
  if (what === 'HEARTBEAT') {
    if (f.b.bid !== expect) return fail(`bid is not ${expect}`);
    if (Number(expect) >= hbFullFrom && f.b.pps.length !== cfg.members) return fail(`pps has ${f.b.pps.length} entries, not ${cfg.members}`);
  }
  if (what === 'JOIN') {
    if (f.b.pt !== (m.id.k === 0 ? 'admin' : 'publisher')) return fail('wrong role');
    if (f.b.pps.length !== m.id.k + 1) return fail(`pps has ${f.b.pps.length} entries, not ${m.id.k + 1}`);
  }
}

// ---------------------------------------------------------------- pacer

interface Pacer {
  t0: number;
  hbDone: number;
  exT0: number;
  exDone: number;
  signals: boolean;
  timer: NodeJS.Timeout | null;
}
let pacer: Pacer | null = null;
let lags = new Float64Array(0);
let lagN = 0;

/**
 * Heartbeat k goes to slot k mod N, slot s to member k=⌊s/rooms⌋ of room s mod rooms:
 * every member beats exactly every hbIntervalMs, the phases spread uniformly over the
 * interval, and consecutive beats hit different rooms. After a stall the pacer catches
 * up (open loop), but never more than 200 ms worth at once; the rest is skipped, counted.
 */
function tick(): void {
  const p = pacer;
  if (!p) return;
  const now = performance.now();
  const N = members.length;
  const hbRate = N / cfg.hbIntervalMs; // per ms
  const due = Math.floor((now - p.t0) * hbRate);
  let n = due - p.hbDone;
  const maxHb = Math.ceil(200 * hbRate);
  if (n > maxHb) {
    skipped += n - maxHb;
    p.hbDone += n - maxHb;
    n = maxHb;
  }
  if (n > 0) {
    if (lagN < lags.length) lags[lagN++] = now - (p.t0 + (p.hbDone + 1) / hbRate);
    for (let k = 0; k < n; k++) {
      const s = (p.hbDone + k) % N;
      sendHeartbeat(members[(s % cfg.rooms) * cfg.members + Math.floor(s / cfg.rooms)]!);
    }
    p.hbDone += n;
  }
  if (p.signals) {
    const exRate = cfg.rooms / cfg.signalIntervalMs;
    let e = Math.floor((now - p.exT0) * exRate) - p.exDone;
    const maxEx = Math.ceil(200 * exRate);
    if (e > maxEx) {
      skipped += (e - maxEx) * EXCHANGE_SIGNALS;
      p.exDone += e - maxEx;
      e = maxEx;
    }
    for (; e > 0; e--, p.exDone++) startExchange();
  }
  p.timer = setTimeout(tick, 1);
}

// ---------------------------------------------------------------- setup

function join(m: Member, creating: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      m.joinWaiter = null;
      reject(new Error(`no JOIN ack for ${m.id.userId} within 10 s`));
    }, 10_000);
    m.joinWaiter = (error) => {
      clearTimeout(timer);
      m.joinWaiter = null;
      if (error) reject(new Error(error));
      else resolve();
    };
    m.ws!.sendText(joinText(m.id, creating));
  });
}

async function setup(s: MobzSetup): Promise<void> {
  cfg = s;
  const t0 = performance.now();
  for (let room = 0; room < s.rooms; room++) {
    for (let k = 0; k < s.members; k++) {
      const id = memberId(room, k);
      members.push({ i: members.length, id, hbHead: hbPrefix(id), ws: null, joined: false, joinWaiter: null });
    }
  }
  // Beats start with the first JOIN, so the first rooms stay alive however long setup takes.
  pacer = { t0: performance.now(), hbDone: 0, exT0: 0, exDone: 0, signals: false, timer: null };
  tick();
  let next = 0;
  let failures = 0;
  let firstError: string | null = null;
  const deadline = Date.now() + s.timeoutMs;
  const openRoom = async (room: number): Promise<void> => {
    const ms = members.slice(room * s.members, (room + 1) * s.members);
    await Promise.all(
      ms.map(async (m) => {
        const local = s.localAddresses[m.i % s.localAddresses.length];
        const ws = await connectWs({ host: s.host, port: s.port, path: '/mobz', timeoutMs: 15_000, ...(local ? { localAddress: local } : {}) });
        ws.onClose = (reason) => {
          closed++;
          closeSample ??= `${m.id.userId}: ${reason}`;
          m.joinWaiter?.(`socket of ${m.id.userId} closed: ${reason}`);
        };
        ws.setHandler((buf, start, end) => onFrame(m, buf, start, end));
        m.ws = ws;
      }),
    );
    await join(ms[0]!, true);
    for (const m of ms.slice(1)) await join(m, false);
  };
  const worker = async (): Promise<void> => {
    while (next < s.rooms && failures < 20) {
      if (Date.now() > deadline) {
        failures++;
        firstError ??= `setup did not finish within ${s.timeoutMs} ms`;
        return;
      }
      const room = next++;
      try {
        await openRoom(room);
      } catch (e) {
        failures++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  hbFullFrom = hbSeq;
  reply({ type: 'setup-done', ms: Math.round(performance.now() - t0), sockets: members.filter((m) => m.ws && !m.ws.closed).length, joinAcks, failures, firstError });
}

// ---------------------------------------------------------------- measuring

async function measure(warmupMs: number, durationMs: number): Promise<void> {
  const p = pacer!;
  if (cfg.signalIntervalMs > 0) {
    p.exT0 = performance.now();
    p.signals = true;
  }
  await sleep(warmupMs);
  const hbCap = Math.ceil(((members.length / cfg.hbIntervalMs) * (durationMs + 1000)) * 1.2) + 1000;
  const sigCap = cfg.signalIntervalMs > 0 ? Math.ceil(((cfg.rooms / cfg.signalIntervalMs) * EXCHANGE_SIGNALS * (durationMs + 1000)) * 1.2) + 1000 : 0;
  hbLat = new Float64Array(hbCap);
  fwdLat = new Float64Array(sigCap);
  lags = new Float64Array(Math.ceil(durationMs * 1.1) + 1000);
  lagN = 0;
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  eld.enable();
  const skipped0 = skipped;
  const a = { t: performance.now(), hb: hbSeq, sig: signalsSent, ex: exSeq, srv: procCpuUs(cfg.serverPid), lg: process.cpuUsage(), elu: performance.eventLoopUtilization(), host: cpuTicks() };
  winHbFrom = a.hb;
  winUsFrom = a.t * 1000;
  await sleep(durationMs);
  const b = { t: performance.now(), hb: hbSeq, sig: signalsSent, ex: exSeq, srv: procCpuUs(cfg.serverPid), lg: process.cpuUsage(), elu: performance.eventLoopUtilization(), host: cpuTicks() };
  const rss = procRssBytes(cfg.serverPid);
  winHbTo = b.hb;
  winUsTo = b.t * 1000;
  eld.disable();
  const lagsN = lagN;
  // Stop offering; answers to OFFERs already out still go, so every exchange completes.
  if (p.timer) clearTimeout(p.timer);
  pacer = null;
  const until = performance.now() + DRAIN_MS;
  while (performance.now() < until && (hbAcked < hbSeq || signalsDelivered < signalsSent)) await sleep(20);
  let unackedInWindow = 0;
  for (let s = winHbFrom; s < winHbTo; s++) if (hbAck[s] !== 1) unackedInWindow++;
  const dt = (b.t - a.t) / 1000;
  const lgCpu = b.lg.user + b.lg.system - (a.lg.user + a.lg.system);
  const lagMs = (q: number): number => Math.max(0, q / 1e6 - ELD_RESOLUTION_MS);
  const result: MobzResult = {
    durationS: dt,
    heartbeatRate: (b.hb - a.hb) / dt,
    signalRate: (b.sig - a.sig) / dt,
    exchangeRate: (b.ex - a.ex) / dt,
    hbAckMs: percentiles(hbLat, hbLatN),
    forwardMs: percentiles(fwdLat, fwdLatN),
    hbUnackedInWindow: unackedInWindow,
    hbSent: hbSeq,
    hbAcked,
    signalsSent,
    signalsDelivered,
    skipped: skipped - skipped0,
    joinAcks,
    publishListChanged: plc,
    errorAcks,
    errorSample,
    badFrames,
    badSample,
    closed,
    closeSample,
    serverCpuShare: (b.srv - a.srv) / 1e6 / dt,
    serverRssBytes: rss,
    loadGenCpuShare: lgCpu / 1e6 / dt,
    loadGenElu: performance.eventLoopUtilization(b.elu, a.elu).utilization,
    loadGenLagMs: { p50: lagMs(eld.percentile(50)), p99: lagMs(eld.percentile(99)), max: lagMs(eld.max) },
    pacerLagMs: percentiles(lags, lagsN),
    stealShare: (b.host.steal - a.host.steal) / (b.host.total - a.host.total),
    irqCores: (b.host.irq - a.host.irq) / clockTicks() / dt,
    // A process's utime+stime includes time stolen while it was on the vCPU, /proc/stat's
    // user+system does not: add steal back before subtracting the two processes.
    otherCores: (b.host.busy + b.host.steal - a.host.busy - a.host.steal) / clockTicks() / dt - (b.srv - a.srv) / 1e6 / dt - lgCpu / 1e6 / dt,
  };
  reply({ type: 'measured', result });
}

// BENCH_DEBUG=1: one line per second on stderr, to see when slow acks happen (GC, stalls).
if (process.env['BENCH_DEBUG']) {
  let last = { t: performance.now(), hb: 0, acked: 0, sig: 0, cpu: process.cpuUsage(), srv: 0 };
  const h = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  h.enable();
  setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const srv = cfg ? procCpuUs(cfg.serverPid) : 0;
    const dt = (now - last.t) / 1000;
    const rate = (a: number, b: number): string => ((a - b) / dt).toFixed(0);
    console.error(
      `[mobz lg] hb/s ${rate(hbSeq, last.hb)} acks/s ${rate(hbAcked, last.acked)} signals/s ${rate(signalsSent, last.sig)} worst ack ${secMaxHb.toFixed(1)} ms ` +
        `srv cpu ${((srv - last.srv) / 1e6 / dt).toFixed(2)} lg cpu ${((cpu.user + cpu.system - last.cpu.user - last.cpu.system) / 1e6 / dt).toFixed(2)} lg lag max ${Math.max(0, h.max / 1e6 - ELD_RESOLUTION_MS).toFixed(1)} ms`,
    );
    h.reset();
    secMaxHb = 0;
    last = { t: now, hb: hbSeq, acked: hbAcked, sig: signalsSent, cpu, srv };
  }, 1000).unref();
}

// ---------------------------------------------------------------- IPC

function closeAll(): void {
  if (pacer?.timer) clearTimeout(pacer.timer);
  pacer = null;
  for (const m of members) {
    if (!m.ws) continue;
    m.ws.onClose = null;
    m.ws.close();
  }
}

serveOrchestrator<ToMobzLoadGen>((m) => {
  switch (m.type) {
    case 'setup':
      return setup(m);
    case 'measure':
      return measure(m.warmupMs, m.durationMs);
  }
}, closeAll);
