import type { Redis } from 'ioredis';

/** Connection lifecycle both Redis backends share. */
/**
 * ioredis arms a `disconnectTimeout` timer (default 2 s) on every disconnect() and clears it
 * only on the socket's next 'close' event, which never comes when the socket had already
 * died (closing while Redis is down). Keep it short so close() leaves no timer behind.
 */
export const CONNECTION_OPTIONS = { disconnectTimeout: 100 } as const;

export function whenReady(connection: Redis, timeoutMs: number): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: unknown;
    const cleanup = (): void => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      connection.off('error', onError);
      connection.off('end', onEnd);
    };
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const onError = (error: unknown): void => {
      lastError = error;
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error('Redis connection closed before it was ready', { cause: lastError }));
    };
    const timer = setTimeout(() => {
      cleanup();
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      reject(new Error(`Redis connection not ready after ${timeoutMs} ms${reason}`, { cause: lastError }));
    }, timeoutMs);
    connection.on('ready', onReady);
    connection.on('error', onError);
    connection.on('end', onEnd);
  });
}

/** QUIT when connected (pending replies arrive first), otherwise drop the connection. */
export async function closeConnection(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status === 'reconnecting') {
    // No socket to close: disconnect() only cancels the pending retry, and 'end' never comes.
    connection.disconnect();
    return;
  }
  const ended = new Promise<void>((resolve) => connection.once('end', () => resolve()));
  if (connection.status === 'ready') {
    try {
      await connection.quit();
    } catch {
      connection.disconnect();
    }
  } else {
    connection.disconnect();
  }
  // Bounded in case the socket never reports back; nothing else keeps the process alive.
  await bounded(ended, 2_000);
}

function bounded(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
