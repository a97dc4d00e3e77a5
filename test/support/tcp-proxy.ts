import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server, for tests of a network that goes away: `cut()`
 * resets every connection and refuses new ones, `blackhole()` keeps connections up but
 * lets nothing through (a dead link that nobody notices), `restore()` heals both.
 */
export interface TcpProxy {
  readonly port: number;
  /** ws://127.0.0.1:<port> */
  readonly wsUrl: string;
  /** Connections accepted so far (refused ones included). */
  readonly accepted: number;
  cut(): void;
  blackhole(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: 'open' | 'cut' | 'blackhole' = 'open';
  let accepted = 0;
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    accepted++;
    if (mode === 'cut') return void client.resetAndDestroy();
    const upstream = connect(targetPort, targetHost);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk) => {
        if (mode === 'open') to.write(chunk);
      });
      from.on('close', () => {
        pairs.delete(pair);
        to.destroy();
      });
      from.on('error', () => {});
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    wsUrl: `ws://127.0.0.1:${address.port}`,
    get accepted() {
      return accepted;
    },
    cut() {
      mode = 'cut';
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    blackhole() {
      mode = 'blackhole';
    },
    restore() {
      mode = 'open';
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
