import { loadConfig, type ConfigKey } from '../../src/ops/config.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { startSwitchboard, type Switchboard } from '../../src/server.ts';
import { startRedis, type RedisServer } from './redis-server.ts';

export type Overrides = Partial<Record<ConfigKey, unknown>>;

export interface TestNode extends Switchboard {
  /** ws://127.0.0.1:<port> */
  readonly wsUrl: string;
}

/** One Switchboard node in this process, on a free port, quiet unless SWITCHBOARD_TEST_LOG is set. */
export async function startNode(overrides: Overrides = {}): Promise<TestNode> {
  const config = loadConfig({ overrides: { port: 0, host: '127.0.0.1', logLevel: process.env.SWITCHBOARD_TEST_LOG ?? 'silent', ...overrides } });
  const node = await startSwitchboard(config, createLogger(config.logLevel));
  return Object.assign(node, { wsUrl: node.url.replace(/^http/, 'ws') });
}

export interface TestCluster {
  readonly nodes: TestNode[];
  readonly redis: RedisServer;
  close(): Promise<void>;
}

/** `size` nodes sharing one freshly started redis-server. */
export async function startCluster(size: number, overrides: Overrides = {}): Promise<TestCluster> {
  const redis = await startRedis();
  const nodes: TestNode[] = [];
  for (let i = 0; i < size; i++) nodes.push(await startNode({ redisUrl: redis.url, nodeId: `n${i + 1}`, ...overrides }));
  return {
    nodes,
    redis,
    async close() {
      await Promise.all(nodes.map((node) => node.close()));
      await redis.stop();
    },
  };
}

/**
 * Where a scenario's parties connect. A single node: all to the same node. A cluster:
 * devices to node 1, clients spread over the others, so every relay crosses nodes.
 */
export interface Topology {
  readonly name: string;
  deviceNode(): TestNode;
  clientNode(index?: number): TestNode;
  readonly nodes: readonly TestNode[];
  close(): Promise<void>;
}

export async function singleNodeTopology(overrides: Overrides = {}): Promise<Topology> {
  const node = await startNode(overrides);
  return { name: 'single node', nodes: [node], deviceNode: () => node, clientNode: () => node, close: () => node.close() };
}

export async function clusterTopology(overrides: Overrides = {}, size = 3): Promise<Topology> {
  const cluster = await startCluster(size, overrides);
  const [first, ...rest] = cluster.nodes;
  return {
    name: `${size}-node cluster`,
    nodes: cluster.nodes,
    deviceNode: () => first!,
    clientNode: (index = 0) => rest[index % rest.length]!,
    close: () => cluster.close(),
  };
}
