// Redis connections for the job queue (BullMQ on ioredis). Short-lived commands (submit, status)
// fail fast with a one-line error when Redis is unreachable; workers keep reconnecting, so a
// Redis restart or a worker that starts first only delays work.
import { Redis } from 'ioredis';
import { UnavailableError, UsageError } from '../../errors.ts';

export { DEFAULT_REDIS_URL, DEFAULT_QUEUE } from './cli-options.ts';
import { DEFAULT_REDIS_URL } from './cli-options.ts';
/** Job name inside the queue (BullMQ jobs have a name; ours are all the same kind). */
export const JOB_NAME = 'analyze';

/** The URL with any password hidden, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid URL>';
  }
}

function checkUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--redis must be a URL like ${DEFAULT_REDIS_URL}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`--redis must use redis:// or rediss://, not ${u.protocol}`);
}

/** A connected client for a command that does a little and exits; throws UnavailableError when Redis is down. */
export async function connectClient(url: string, timeoutMs = 5000): Promise<Redis> {
  checkUrl(url);
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 2,
    retryStrategy: () => null,
  });
  let lastError: Error | null = null;
  client.on('error', (e: Error) => (lastError = e));
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    client.disconnect();
    const why = (lastError ?? (e as Error)).message;
    throw new UnavailableError(`cannot reach Redis at ${redactUrl(url)}: ${why}`, 'queue.redis-unreachable');
  }
  return client;
}

/**
 * A client for a long-running worker: BullMQ needs maxRetriesPerRequest null on blocking
 * connections; reconnects back off to 5 s; errors are reported through `onError` (throttled by the caller).
 */
export function workerClient(url: string, onError: (e: Error) => void): Redis {
  checkUrl(url);
  const client = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(250 * 2 ** Math.min(times, 5), 5000),
  });
  client.on('error', onError);
  return client;
}
