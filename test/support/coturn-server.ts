/**
 * A throwaway coturn (`turnserver`) for tests: TURN REST credentials (`use-auth-secret`),
 * UDP and TCP on one free port of 127.0.0.1, relaying on 127.0.0.2, its log kept in memory.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { findBinary, startDaemon } from './test-daemon.ts';

export interface CoturnServer {
  /** The listening port, on 127.0.0.1, UDP and TCP. */
  readonly port: number;
  /** turn:127.0.0.1:<port>?transport=udp — what Switchboard's `turn.urls` should hold. */
  readonly url: string;
  readonly realm: string;
  /** The address of every relay coturn allocates ({@link RELAY_IP}). */
  readonly relayIp: string;
  /** Everything coturn has logged so far (stdout and stderr). */
  log(): string;
  /** Kills the server and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartCoturnOptions {
  /** coturn's `static-auth-secret`: the key of the HMAC in the credentials it accepts. */
  secret: string;
  /** Default `switchboard.test`. REST credentials do not depend on it. */
  realm?: string;
  /** Give up if the server does not answer a STUN binding request within this many ms. Default 10 000. */
  timeoutMs?: number;
}

/**
 * The address relays are allocated on, one no client sends from (they use 127.0.0.1, or
 * what they bind). A relay forwards only from addresses its owner permitted, and each peer
 * permits the other's relay address. Were that a client's address too, a peer could reach
 * the other's relay straight from its own socket (its "srflx" candidate), skipping its own
 * allocation; with relays on their own address, only relay-to-relay traffic gets through,
 * as with a real TURN server.
 */
export const RELAY_IP = '127.0.0.2';

const STUN_MAGIC_COOKIE = 0x2112a442;
const STUN_BINDING_REQUEST = 0x0001;
const STUN_BINDING_SUCCESS = 0x0101;

/** Sends one STUN binding request over UDP; true when a success response with our transaction id comes back. */
function stunBinding(port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const transactionId = randomBytes(12);
    const request = Buffer.alloc(20);
    request.writeUInt16BE(STUN_BINDING_REQUEST, 0);
    request.writeUInt16BE(0, 2);
    request.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
    transactionId.copy(request, 8);
    const timer = setTimeout(() => done(false), timeoutMs);
    function done(ok: boolean): void {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    }
    // ICMP port unreachable (nobody listening yet) surfaces as an error on the socket.
    socket.once('error', () => done(false));
    socket.on('message', (reply) => {
      if (reply.length >= 20 && reply.readUInt16BE(0) === STUN_BINDING_SUCCESS && reply.subarray(8, 20).equals(transactionId)) done(true);
    });
    socket.send(request, port, '127.0.0.1');
  });
}

/**
 * Starts coturn in the foreground and resolves once it answers a STUN binding request
 * on its port. Always `stop()` it; a server left running is killed at exit.
 */
export async function startCoturn(options: StartCoturnOptions): Promise<CoturnServer> {
  const binary = findBinary('turnserver', 'TURNSERVER_BIN', 'coturn');
  const realm = options.realm ?? 'switchboard.test';
  const args = (port: number, dir: string): string[] => [
    // Ignore /etc/turnserver.conf: Debian's sends the log to syslog, and it is not ours to rely on.
    '-n',
    '--listening-ip=127.0.0.1',
    `--listening-port=${port}`,
    // Relay from another loopback address than the clients': see RELAY_IP.
    `--relay-ip=${RELAY_IP}`,
    // Relays may reach loopback peers (refused by default): both peers are on this machine.
    '--allow-loopback-peers',
    '--use-auth-secret',
    `--static-auth-secret=${options.secret}`,
    `--realm=${realm}`,
    // No listeners beyond the one port: TLS/DTLS (5349), the RFC 5780 alternate port (port+1), the telnet CLI (5766).
    '--no-tls',
    '--no-dtls',
    '--no-rfc5780',
    '--no-cli',
    // Verbose: only then does coturn log each request with its session, username and outcome,
    // which the tests look for.
    '--verbose',
    '--log-file=stdout',
    '--simple-log',
    // Both default to system paths (/var/lib/turn/turndb, /var/run/turnserver.pid when root).
    `--userdb=${join(dir, 'turndb')}`,
    `--pidfile=${join(dir, 'turnserver.pid')}`,
  ];
  const { port, log, stop } = await startDaemon({ name: 'turnserver', binary, args, answers: stunBinding }, undefined, options.timeoutMs);
  return { port, url: `turn:127.0.0.1:${port}?transport=udp`, realm, relayIp: RELAY_IP, log, stop };
}
