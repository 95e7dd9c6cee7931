// Structured logs go to stderr (fd 2) so stdout carries data only.
import { pino, type Logger } from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

let current: Logger = pino({ level: process.env.VSM_LOG_LEVEL ?? 'warn', base: undefined }, pino.destination(2));

export function configureLog(level: LogLevel): Logger {
  current = pino({ level, base: undefined }, pino.destination({ fd: 2, sync: true }));
  return current;
}

export function log(): Logger {
  return current;
}
