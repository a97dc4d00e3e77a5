#!/usr/bin/env node
import { ConfigError, loadConfig } from './ops/config.ts';
import { createLogger } from './ops/logger.ts';
import { startSwitchboard } from './server.ts';

let config;
try {
  config = loadConfig({ argv: process.argv.slice(2), env: process.env });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`switchboard: configuration error: ${error.message}\n`);
  process.exit(2);
}

const log = createLogger(config.logLevel);
const switchboard = await startSwitchboard(config, log).catch((error: unknown) => {
  log.fatal({ err: error }, 'switchboard failed to start');
  process.exit(1);
});

let signals = 0;
const drain = (signal: string) => {
  if (++signals > 1) process.exit(1); // a second signal means "now"
  log.info({ signal }, 'draining');
  void switchboard.close().then(() => process.exit(0));
};
process.on('SIGTERM', () => drain('SIGTERM'));
process.on('SIGINT', () => drain('SIGINT'));
