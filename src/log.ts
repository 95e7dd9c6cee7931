// Logs go to stderr (fd 2) so stdout carries data only: JSON lines (pino) for machines, or
// human-readable lines (pino-pretty, loaded only then) on a terminal. `--log-format auto` — the
// default — picks pretty when stderr is a terminal and JSON otherwise.
import { pino, type DestinationStream, type Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'auto' | 'json' | 'pretty';

let current: Logger = pino({ level: process.env.VSM_LOG_LEVEL ?? 'warn', base: undefined }, pino.destination(2));

async function destination(format: LogFormat): Promise<DestinationStream> {
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  if (!pretty) return pino.destination({ fd: 2, sync: true });
  const { default: prettyStream } = await import('pino-pretty');
  return prettyStream({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true && !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  });
}

export async function configureLog(level: LogLevel, format: LogFormat = 'json'): Promise<Logger> {
  current = pino({ level, base: undefined }, await destination(format));
  return current;
}

export function log(): Logger {
  return current;
}
