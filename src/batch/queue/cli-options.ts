// Options every queue command shares. Kept free of BullMQ imports so `--help` stays fast.
import type { Options } from 'yargs';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_QUEUE = 'vsm-forensics';

export const QUEUE_OPTIONS = {
  redis: { type: 'string', default: DEFAULT_REDIS_URL, requiresArg: true, describe: 'Redis URL (redis:// or rediss://, user:password@ if needed)' },
  queue: { type: 'string', default: DEFAULT_QUEUE, requiresArg: true, describe: 'Queue name' },
} as const satisfies Record<string, Options>;
