// Options every queue command shares. Kept free of BullMQ imports so `--help` stays fast.
import type { Argv } from 'yargs';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_QUEUE = 'vsm-forensics';

export function withQueueOptions<T>(y: Argv<T>) {
  return y
    .option('redis', { type: 'string', default: DEFAULT_REDIS_URL, describe: 'Redis URL (redis:// or rediss://, user:password@ if needed)' })
    .option('queue', { type: 'string', default: DEFAULT_QUEUE, describe: 'Queue name' });
}
