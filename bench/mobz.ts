// The mobz bench (`npm run bench -- mobz [options]`): many m2m rooms, every member
// heartbeating with send_ack, plus OFFER/ANSWER/ICE exchanges in every room; per target
// the server's CPU share and RSS, heartbeat-ack and forward latency, and whether every
// join, heartbeat and signal went through. Switchboard is compared with
// bench/targets/bare-mobz.ts (the same acks and forwards from a `ws` server with no
// logic), measured the same way in the same run. The load comes from
// bench/mobz-load-generator.ts in its own process.

import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { canPin, HOST, LoadGenChild, loopbackSources, ServerChild } from './lib/child-procs.ts';
import { listArg, numberArg, readArgs } from './lib/cli-args.ts';
import { effectiveCores } from './lib/machine.ts';
import type { FromMobzLoadGen, MobzResult, MobzSetupDone, ToMobzLoadGen } from './lib/mobz-messages.ts';
import { EXCHANGE_SIGNALS } from './lib/mobz-wire.ts';
import { procRssBytes } from './lib/proc-readings.ts';
import { fmt, fmtInt, fmtMiB, fmtPct, log, table, writeResults } from './lib/report.ts';
import type { LoopReply } from './targets/loop-probe.ts';

const HELP = `usage: node bench/run.ts mobz [options]

  --targets a,b        any of switchboard,bare-mobz (default both; bare-mobz is the baseline)
  --rooms N            m2m rooms (default 1000)
  --members N          members per room, 2–9, all publishers (default 4)
  --hb-interval S      heartbeat period per member, seconds (default 3)
  --signal-interval S  one OFFER→ANSWER exchange (+2 ICE each way) per room every S seconds;
                       0 = heartbeats only (default 3)
  --sdp-chars N        length of the OFFER/ANSWER sdp string (default 2000)
  --warmup S           seconds of full load before the measuring window (default 10)
  --duration S         measuring window, seconds (default 30)
  --src-ips N          spread sockets over 127.0.0.2 … 127.0.0.(N+1) (default 8)
  --no-pin             do not pin the server to CPU 0 and the load generator to CPU 1
  --sb-arg ARG         extra argument for src/cli.ts (repeatable)
  --name NAME          results file .bench-results/<NAME>.json (default mobz)
`;

/** Switchboard's goal at this load: a heartbeat ack well inside the client's 3 s period. */
const GOAL_HB_P99_MS = 20;

interface Options {
  targets: string[];
  rooms: number;
  members: number;
  hbIntervalMs: number;
  signalIntervalMs: number;
  sdpChars: number;
  warmupMs: number;
  durationMs: number;
  srcIps: number;
  pin: boolean;
  sbArgs: string[];
  name: string;
}

interface TargetDef {
  what: string;
  script: string;
  args: (port: number, o: Options) => string[];
}

const TARGETS: Record<string, TargetDef> = {
  switchboard: { what: 'Switchboard (src/cli.ts), single node, memory backends', script: 'src/cli.ts', args: (p, o) => ['--port', String(p), ...o.sbArgs] },
  'bare-mobz': { what: 'bare ws server: parse + Map lookup + stringify (bench/targets/bare-mobz.ts)', script: 'bench/targets/bare-mobz.ts', args: (p) => [String(p)] },
};

function parseArgs(argv: string[]): Options {
  const o: Options = {
    targets: ['switchboard', 'bare-mobz'],
    rooms: 1000,
    members: 4,
    hbIntervalMs: 3000,
    signalIntervalMs: 3000,
    sdpChars: 2000,
    warmupMs: 10_000,
    durationMs: 30_000,
    srcIps: 8,
    pin: canPin(),
    sbArgs: [],
    name: 'mobz',
  };
  readArgs(argv, HELP, (a, v) => {
    switch (a) {
      case '--targets':
        o.targets = listArg(v());
        break;
      case '--rooms':
        o.rooms = numberArg(v(), a, 1, 9000);
        break;
      case '--members':
        o.members = numberArg(v(), a, 2, 9);
        break;
      case '--hb-interval':
        o.hbIntervalMs = numberArg(v(), a, 0.1, 60) * 1000;
        break;
      case '--signal-interval':
        o.signalIntervalMs = numberArg(v(), a, 0, 600) * 1000;
        break;
      case '--sdp-chars':
        o.sdpChars = numberArg(v(), a, 40, 30_000);
        break;
      case '--warmup':
        o.warmupMs = numberArg(v(), a, 0, 300) * 1000;
        break;
      case '--duration':
        o.durationMs = numberArg(v(), a, 1, 600) * 1000;
        break;
      case '--src-ips':
        o.srcIps = numberArg(v(), a, 1, 250);
        break;
      case '--no-pin':
        o.pin = false;
        break;
      case '--sb-arg':
        o.sbArgs.push(v() ?? '');
        break;
      case '--name':
        o.name = v() ?? o.name;
        break;
      default:
        return false;
    }
    return true;
  });
  for (const t of o.targets) if (!(t in TARGETS)) throw new Error(`unknown mobz target ${t}`);
  // One load-generator process holds every socket; its fd limit here is 20,000.
  if (o.rooms * o.members > 18_000) throw new Error(`--rooms × --members = ${o.rooms * o.members} sockets; at most 18,000 fit one load generator`);
  return o;
}

interface TargetRun {
  target: string;
  what: string;
  error: string | null;
  idleRssBytes: number;
  setup: MobzSetupDone | null;
  result: MobzResult | null;
  /** the server's own event loop over the window (bench/targets/loop-probe.ts) */
  serverLoop: LoopReply | null;
  failures: string[];
  /** the load generator, not the server, may be the limit */
  lgWarnings: string[];
  warnings: string[];
}

async function runTarget(name: string, o: Options): Promise<TargetRun> {
  const def = TARGETS[name]!;
  const run: TargetRun = { target: name, what: def.what, error: null, idleRssBytes: NaN, setup: null, result: null, serverLoop: null, failures: [], lgWarnings: [], warnings: [] };
  let server: ServerChild | null = null;
  let lg: LoadGenChild<ToMobzLoadGen, FromMobzLoadGen> | null = null;
  try {
    log(`[${name}] starting ${def.script}`);
    server = await ServerChild.start({ name: def.script, script: def.script, args: (p) => def.args(p, o), readyPath: '/readyz', cpu: o.pin ? 0 : null, probe: 'loop' });
    await sleep(1000);
    run.idleRssBytes = procRssBytes(server.pid);
    lg = await LoadGenChild.start<ToMobzLoadGen, FromMobzLoadGen>('bench/mobz-load-generator.ts', o.pin ? 1 : null);
    const sockets = o.rooms * o.members;
    log(`[${name}] opening ${fmtInt(sockets)} sockets and joining ${fmtInt(o.rooms)} rooms (heartbeats start with the first JOIN)`);
    const setup = await lg.request(
      {
        type: 'setup',
        host: HOST,
        port: server.port,
        serverPid: server.pid,
        rooms: o.rooms,
        members: o.members,
        hbIntervalMs: o.hbIntervalMs,
        signalIntervalMs: o.signalIntervalMs,
        sdpChars: o.sdpChars,
        localAddresses: loopbackSources(o.srcIps),
        timeoutMs: 120_000,
      },
      'setup-done',
      150_000,
    );
    run.setup = setup;
    log(`[${name}] ${fmtInt(setup.joinAcks)} JOIN acks on ${fmtInt(setup.sockets)} sockets in ${(setup.ms / 1000).toFixed(1)} s`);
    if (setup.failures > 0) throw new Error(`setup: ${setup.failures} rooms failed, e.g. ${setup.firstError}`);
    log(`[${name}] ${o.warmupMs / 1000} s warm-up, then ${o.durationMs / 1000} s measuring`);
    // The probe's window follows the load generator's to within IPC latency (~1 ms).
    const srv = server;
    const probe = sleep(o.warmupMs)
      .then(() => srv.loopStart())
      .then(() => sleep(o.durationMs))
      .then(() => srv.loopStop());
    run.result = (await lg.request({ type: 'measure', warmupMs: o.warmupMs, durationMs: o.durationMs }, 'measured', o.warmupMs + o.durationMs + 30_000)).result;
    run.serverLoop = await probe;
    if (server.exit) throw new Error(`server ${server.exit} during the run`);
    const r = run.result;
    log(`[${name}] server ${fmtPct(r.serverCpuShare)} of a core, hb-ack p99 ${fmt(r.hbAckMs.p99)} ms, forward p99 ${fmt(r.forwardMs.p99)} ms`);
    judge(run, o);
  } catch (e) {
    run.error = e instanceof Error ? e.message : String(e);
    if (server?.exit && !run.error.includes(server.exit)) run.error += ` (server ${server.exit})`;
    log(`[${name}] ERROR: ${run.error}`);
    if (server) log(server.tailText());
  } finally {
    await lg?.close();
    await server?.stop();
  }
  return run;
}

/** Everything that should have happened did; and is the load generator the limit? */
function judge(run: TargetRun, o: Options): void {
  const r = run.result!;
  const f = run.failures;
  const sockets = o.rooms * o.members;
  // Each JOIN after the first in a room tells every member joined so far, itself included.
  const plcExpected = o.rooms * ((o.members * (o.members + 1)) / 2 - 1);
  if (r.joinAcks !== sockets) f.push(`JOIN acks: ${r.joinAcks} of ${sockets}`);
  if (r.errorAcks > 0) f.push(`${r.errorAcks} error acks, e.g. ${r.errorSample}`);
  if (r.hbAcked !== r.hbSent) f.push(`heartbeats acked: ${r.hbAcked} of ${r.hbSent} (${r.hbUnackedInWindow} of them sent in the window)`);
  if (r.signalsDelivered !== r.signalsSent) f.push(`signals forwarded: ${r.signalsDelivered} of ${r.signalsSent}`);
  if (r.publishListChanged !== plcExpected) f.push(`PUBLISH_LIST_CHANGED: ${r.publishListChanged}, expected ${plcExpected}`);
  if (r.badFrames > 0) f.push(`${r.badFrames} wrong frames, e.g. ${r.badSample}`);
  if (r.closed > 0) f.push(`${r.closed} sockets closed, e.g. ${r.closeSample}`);
  const hbExpected = sockets / (o.hbIntervalMs / 1000);
  if (r.heartbeatRate < hbExpected * 0.97) f.push(`offered only ${fmtInt(r.heartbeatRate)} heartbeats/s of ${fmtInt(hbExpected)} (${r.skipped} sends skipped)`);
  const w = run.lgWarnings;
  if (r.loadGenCpuShare >= 0.9 || r.loadGenElu >= 0.95) w.push(`load generator saturated (CPU ${fmtPct(r.loadGenCpuShare)} of a core, event-loop utilization ${fmtPct(r.loadGenElu)}): it, not the server, limits the load and the latencies`);
  else if (r.loadGenCpuShare >= 0.7 || r.loadGenElu >= 0.8) w.push(`load generator busy (CPU ${fmtPct(r.loadGenCpuShare)}, ELU ${fmtPct(r.loadGenElu)}): latencies include its queueing`);
  // Timers on this VM jitter by a few ms even in an idle process; what matters is the
  // load generator's delay against the latency it measures.
  const bound = Math.max(5, 0.25 * r.hbAckMs.p99);
  if (r.loadGenLagMs.p99 > bound) w.push(`load generator event-loop delay p99 ${fmt(r.loadGenLagMs.p99)} ms (> ${fmt(bound)} ms): it stalled, the latencies are partly its own`);
  if (r.pacerLagMs.p99 > bound) w.push(`pacer ran late (p99 ${fmt(r.pacerLagMs.p99)} ms behind schedule, > ${fmt(bound)} ms): the offered load was burstier than planned`);
  if (r.otherCores > 0.15) run.warnings.push(`other processes on the machine used ${fmt(r.otherCores)} cores during the window: the latencies are not the server's alone — rerun on a quiet machine`);
}

function report(runs: TargetRun[], o: Options, cores: number): string[] {
  const out: string[] = [];
  const sockets = o.rooms * o.members;
  const exchanges = o.signalIntervalMs > 0 ? o.rooms / (o.signalIntervalMs / 1000) : 0;
  out.push('');
  out.push(`MOBZ BENCH — ${fmtInt(o.rooms)} m2m rooms × ${o.members} members = ${fmtInt(sockets)} sockets; Node ${process.version}, ${os.cpus().length} vCPUs (${fmt(cores)} effective)`);
  out.push(`heartbeat (send_ack) every ${o.hbIntervalMs / 1000} s per member, phases spread uniformly: ${fmtInt(sockets / (o.hbIntervalMs / 1000))}/s offered`);
  out.push(
    o.signalIntervalMs > 0
      ? `signaling: one exchange per room every ${o.signalIntervalMs / 1000} s (OFFER → ANSWER, 2 ICE each way; sdp ${o.sdpChars} chars): ${fmtInt(exchanges)} exchanges/s = ${fmtInt(exchanges * EXCHANGE_SIGNALS)} signals/s offered`
      : 'signaling: off (--signal-interval 0)',
  );
  out.push(`window ${o.durationMs / 1000} s after ${o.warmupMs / 1000} s warm-up; server CPU = utime+stime from /proc/<pid>/stat ÷ wall time; ${o.pin ? 'server on CPU 0, load generator on CPU 1' : 'no pinning'}`);
  out.push('');
  const ok = runs.filter((r) => r.result);
  out.push(
    table(
      ['target', 'hb/s', 'signals/s', 'srv CPU', 'srv RSS', '(idle)', 'hb-ack p50', 'p99', 'max', 'fwd p50', 'p99', 'lg CPU', 'lg ELU', 'lg lag p99'],
      ok.map((t) => {
        const r = t.result!;
        return [
          t.target,
          fmtInt(r.heartbeatRate),
          fmtInt(r.signalRate),
          fmtPct(r.serverCpuShare),
          fmtMiB(r.serverRssBytes),
          fmtMiB(t.idleRssBytes),
          fmt(r.hbAckMs.p50),
          fmt(r.hbAckMs.p99),
          fmt(r.hbAckMs.max),
          fmt(r.forwardMs.p50),
          fmt(r.forwardMs.p99),
          fmtPct(r.loadGenCpuShare),
          fmtPct(r.loadGenElu),
          fmt(r.loadGenLagMs.p99),
        ];
      }),
    ),
  );
  out.push('  latencies in ms, same-process clock of the load generator: hb-ack = HEARTBEAT sent → its ack (by bid) received;');
  out.push('  fwd = OFFER/ANSWER/ICE sent → received by the addressee. CPU as % of one core. lg = load generator;');
  out.push('  lg lag = its event-loop delay beyond a 2 ms timer (what its own queueing adds to the latencies).');
  const sb = runs.find((r) => r.target === 'switchboard' && r.result);
  const bare = runs.find((r) => r.target === 'bare-mobz' && r.result);
  if (sb && bare) {
    const ratio = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : '—');
    out.push('');
    out.push(`switchboard vs bare-mobz: CPU ${ratio(sb.result!.serverCpuShare, bare.result!.serverCpuShare)}, hb-ack p99 ${ratio(sb.result!.hbAckMs.p99, bare.result!.hbAckMs.p99)}, RSS ${ratio(sb.result!.serverRssBytes, bare.result!.serverRssBytes)}`);
  }
  out.push('');
  out.push('checks');
  for (const t of runs) {
    if (t.error) out.push(`  ${t.target}: NOT MEASURED: ${t.error.split('\n')[0]}`);
    else if (t.failures.length === 0) {
      const r = t.result!;
      out.push(`  ${t.target}: ok — ${fmtInt(r.joinAcks)} JOIN acks, 0 error acks, ${fmtInt(r.hbAcked)}/${fmtInt(r.hbSent)} heartbeats acked, ${fmtInt(r.signalsDelivered)}/${fmtInt(r.signalsSent)} signals forwarded, ${fmtInt(r.publishListChanged)} PUBLISH_LIST_CHANGED, no socket closed`);
    } else for (const f of t.failures) out.push(`  ${t.target}: FAILED: ${f}`);
  }
  out.push('');
  out.push('where the time went (event-loop delay beyond a 2 ms timer; GC pauses as PerformanceObserver reports them)');
  for (const t of runs) if (t.result) out.push(`  machine (${t.target} window): other processes used ${fmt(t.result.otherCores)} cores, interrupts/softirqs ${fmt(t.result.irqCores)} cores (loopback TCP of both sides, charged to neither process); hypervisor steal ${fmtPct(t.result.stealShare)} of the vCPUs' time`);
  for (const t of runs) {
    const l = t.serverLoop;
    if (!t.result) continue;
    if (l) out.push(`  server (${t.target}): event-loop utilization ${fmtPct(l.elu)}, lag p50/p99/max ${fmt(l.lagP50Ms)}/${fmt(l.lagP99Ms)}/${fmt(l.lagMaxMs)} ms; GC ${l.gcCount} pauses, ${fmt(l.gcTotalMs / (o.durationMs / 1000), 1)} ms/s, longest ${fmt(l.gcMaxMs, 1)} ms`);
    else out.push(`  server (${t.target}): the event-loop probe did not answer`);
  }
  for (const t of runs) {
    if (!t.result) continue;
    const r = t.result;
    const verdict = t.lgWarnings.length === 0 ? 'not the bottleneck' : 'SEE WARNINGS';
    out.push(`  load generator (${t.target}): CPU ${fmtPct(r.loadGenCpuShare)}, ELU ${fmtPct(r.loadGenElu)}, event-loop lag p50/p99/max ${fmt(r.loadGenLagMs.p50)}/${fmt(r.loadGenLagMs.p99)}/${fmt(r.loadGenLagMs.max)} ms, pacer lag p99 ${fmt(r.pacerLagMs.p99)} ms: ${verdict}`);
  }
  if (sb) {
    const p99 = sb.result!.hbAckMs.p99;
    out.push('');
    out.push(`goal: heartbeat-ack p99 ≤ ${GOAL_HB_P99_MS} ms: ${p99 <= GOAL_HB_P99_MS && sb.failures.length === 0 ? 'met' : 'NOT met'} (Switchboard p99 ${fmt(p99)} ms${sb.failures.length ? ', with failed checks' : ''})`);
  }
  const warnings = runs.flatMap((t) => [...t.lgWarnings, ...t.warnings].map((w) => `${t.target}: ${w}`));
  if (os.cpus().length >= 2 && cores < 1.6) warnings.push(`machine: two busy processes together got only ${fmt(cores)}× the CPU of one: server and load generator compete for CPU, figures are noisy`);
  if (warnings.length) {
    out.push('');
    for (const w of warnings) out.push(`WARNING ${w}`);
  }
  return out;
}

export async function mobzBench(argv: string[]): Promise<{ ok: boolean }> {
  const o = parseArgs(argv);
  const started = new Date();
  const cores = await effectiveCores(o.pin);
  log(`mobz bench: ${o.targets.join(', ')}; machine delivers ${fmt(cores)}× one busy process when two run at once`);
  const runs: TargetRun[] = [];
  for (const t of [...new Set(o.targets)]) runs.push(await runTarget(t, o));
  const out = report(runs, o, cores);
  const file = writeResults(o.name, { bench: 'mobz', startedAt: started.toISOString(), finishedAt: new Date().toISOString(), node: process.version, cpus: os.cpus().length, effectiveCores: cores, options: o, runs });
  out.push('');
  out.push(`results: ${file}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return { ok: runs.every((r) => !r.error && r.failures.length === 0) };
}
