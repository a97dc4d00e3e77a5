import { memberSource } from '../../core/json-members.ts';
import type { MobzErrorName } from './errors.ts';
import { ClientSignals, ROUTES, schemaProblem, type ClientSignal, type SignalName } from './schemas.ts';

export type ParsedFrame =
  | { ok: true; name: SignalName; signal: ClientSignal; source: string }
  | { ok: false; error: MobzErrorName; name: string; source: string; detail: string };

const isSignalName = (s: unknown): s is SignalName => typeof s === 'string' && Object.hasOwn(ClientSignals, s);

/**
 * One client frame: `{"action":<route>,"data":<signal>}` or a bare signal. `source` is the
 * signal's JSON text as sent: it is what gets forwarded and what an error ack echoes.
 */
export function parseFrame(text: string): ParsedFrame {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { ok: false, error: 'INVALID_SIGNAL', name: 'UNKNOWN', source: JSON.stringify(text), detail: 'frame is not JSON' };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { ok: false, error: 'INVALID_SIGNAL', name: 'UNKNOWN', source: text, detail: 'frame is not a JSON object' };
  }
  const envelope = message as Record<string, unknown>;
  let signal: unknown = envelope;
  let source = text;
  let routed: SignalName | undefined;
  if ('action' in envelope && !('data' in envelope) && !('s' in envelope)) {
    const route = envelope.action;
    const routed = typeof route === 'string' && Object.hasOwn(ROUTES, route) ? ROUTES[route as keyof typeof ROUTES] : 'UNKNOWN';
    return { ok: false, error: 'INVALID_SIGNAL', name: routed, source: text, detail: `route ${JSON.stringify(route)} without "data"` };
  }
  if ('action' in envelope && 'data' in envelope) {
    signal = envelope.data;
    source = memberSource(text, 'data')!;
    const route = envelope.action;
    routed = typeof route === 'string' && Object.hasOwn(ROUTES, route) ? ROUTES[route as keyof typeof ROUTES] : undefined;
    const named = signalName(signal);
    if (!routed) return { ok: false, error: 'INVALID_SIGNAL', name: named ?? 'UNKNOWN', source, detail: `unknown route ${JSON.stringify(route)}` };
    if (named !== undefined && named !== routed) {
      return { ok: false, error: 'INVALID_SIGNAL', name: named, source, detail: `route ${JSON.stringify(route)} carries ${routed}, not ${named}` };
    }
  }
  const name = signalName(signal);
  if (typeof signal !== 'object' || signal === null || Array.isArray(signal)) {
    return { ok: false, error: 'INVALID_SIGNAL', name: routed ?? 'UNKNOWN', source, detail: 'signal is not a JSON object' };
  }
  // A routed signal without `s` is that route's signal missing a key, not an unknown one.
  const effective = name ?? routed;
  if (effective === undefined) {
    const s = (signal as { s?: unknown }).s;
    return { ok: false, error: 'INVALID_SIGNAL', name: 'UNKNOWN', source, detail: `unknown signal ${JSON.stringify(s ?? null)}` };
  }
  const problem = schemaProblem(effective, signal);
  if (problem) return { ok: false, error: 'INVALID_SIGNAL', name: effective, source, detail: problem };
  return { ok: true, name: effective, signal: signal as ClientSignal, source };
}

function signalName(signal: unknown): SignalName | undefined {
  const s = typeof signal === 'object' && signal !== null ? (signal as { s?: unknown }).s : undefined;
  return isSignalName(s) ? s : undefined;
}
