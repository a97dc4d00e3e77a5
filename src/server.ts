import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { selectBackends } from './backends/select-backends.ts';
import { MessageRouter } from './core/message-router.ts';
import { NodeLiveness } from './core/node-liveness.ts';
import { cuttlefish } from './dialects/cuttlefish/index.ts';
import type { Dialect, MountedDialect } from './dialects/dialect.ts';
import { mobz } from './dialects/mobz/index.ts';
import type { Config } from './ops/config.ts';
import { createLogger, type Logger } from './ops/logger.ts';
import { Metrics } from './ops/metrics.ts';
import { IceConfigProvider } from './services/turn-credentials.ts';
import { HttpRouter, sendJson } from './transport/http-router.ts';
import { WebSocketGateway } from './transport/websocket-gateway.ts';

/** Every dialect this build serves, each switched on by `<name>.enabled`. */
const DIALECTS: readonly Dialect[] = [cuttlefish, mobz];

export interface Switchboard {
  readonly nodeId: string;
  readonly port: number;
  /** `http://host:port` (or https) of the listener. */
  readonly url: string;
  readonly metrics: Metrics;
  /** Readiness 503, refuse new sockets, close open ones (bounded wait), release resources. */
  close(): Promise<void>;
}

export async function startSwitchboard(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Switchboard> {
  const nodeId = config.nodeId || `node-${randomBytes(4).toString('hex')}`;
  log = log.child({ nodeId });
  const metrics = new Metrics();
  const { bus, state } = await selectBackends(config.redisUrl);
  const router = new MessageRouter(nodeId, bus);
  await router.start();
  const liveness = new NodeLiveness(state, nodeId, config.nodeLeaseMs);
  await liveness.start();
  const ice = new IceConfigProvider(config.iceServers, { urls: config['turn.urls'], secret: config['turn.secret'], ttlS: config['turn.ttlS'] });
  const gateway = new WebSocketGateway(
    {
      allowedOrigins: config.allowedOrigins,
      maxConnections: config.maxConnections,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      maxBufferedBytes: config.maxBufferedBytes,
    },
    metrics,
    log,
  );
  const http = new HttpRouter();
  let draining = false;
  http.route('GET', '/healthz', (_request, response) => sendJson(response, 200, { status: 'ok', nodeId }));
  http.route('GET', '/readyz', (_request, response) => {
    const problems = [draining && 'draining', !bus.healthy && 'bus unreachable', !state.healthy && 'state unreachable'].filter(Boolean);
    sendJson(response, problems.length ? 503 : 200, problems.length ? { status: 'unavailable', problems } : { status: 'ready', nodeId });
  });
  http.route('GET', '/metrics', async (_request, response) => {
    const text = await metrics.registry.metrics();
    response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
  });

  const mounted: MountedDialect[] = [];
  for (const dialect of DIALECTS) {
    if (!config[`${dialect.name}.enabled` as keyof Config]) continue;
    mounted.push(
      await dialect.mount({
        config,
        nodeId,
        bus,
        state,
        router,
        liveness,
        ice,
        http,
        metrics: metrics.dialect(dialect.name),
        log: log.child({ dialect: dialect.name }),
        addWebSocketEndpoint: (endpoint) => gateway.add(endpoint),
      }),
    );
  }

  const server: Server = config['tls.cert']
    ? createHttpsServer({ cert: readFileSync(config['tls.cert']), key: readFileSync(config['tls.key']) }, http.handle)
    : createHttpServer(http.handle);
  server.on('upgrade', gateway.handleUpgrade);
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `${config['tls.cert'] ? 'https' : 'http'}://${host}:${port}`;
  log.info({ port, redis: Boolean(config.redisUrl), dialects: mounted.length }, 'switchboard listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Readiness fails first and HTTP stays up while sockets drain, so a load balancer
      // sees the 503 and moves traffic before the listener goes away.
      draining = true;
      gateway.stopAccepting();
      await gateway.closeAll(config.drainTimeoutMs);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
      for (const dialect of mounted) await dialect.stop();
      await router.stop();
      await liveness.stop();
      await Promise.all([bus.close(), state.close()]);
      log.info('switchboard stopped');
    })());

  return { nodeId, port, url, metrics, close };
}
