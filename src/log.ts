// Logs go to stderr (fd 2) so stdout carries data only: JSON lines (pino) for machines, or
// human-readable lines (pino-pretty) on a terminal. `--log-format auto` — the default — picks
// pretty when stderr is a terminal and JSON otherwise.
//
// pino is loaded with the first message the level lets through: at the default level (warn) most
// runs log nothing, and loading pino (with node:worker_threads and node:assert, which it needs)
// costs ~15 ms of every start-up otherwise. Below the level a call costs one comparison.
import type { DestinationStream, Logger } from 'pino';
import { onFirstUse } from './on-first-use.ts';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'auto' | 'json' | 'pretty';

/** pino's numbers for its levels. */
const LEVEL_VALUE: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const DEFAULT_LEVEL: LogLevel = 'warn';

const pinoModule = onFirstUse<typeof import('pino')>('pino');
// pino-pretty is CommonJS: its module object is the stream factory, also exported as `default`.
const prettyModule = onFirstUse<{ readonly default: (options: import('pino-pretty').PrettyOptions) => DestinationStream }>('pino-pretty');

type Emit = (objOrMessage: object | string, message?: string) => void;

/** What the analysis logs through (the part of pino's Logger it uses). */
export interface Log {
  readonly level: LogLevel;
  readonly debug: Emit;
  readonly info: Emit;
  readonly warn: Emit;
  readonly error: Emit;
}

function destination(format: LogFormat): DestinationStream {
  const pretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  if (!pretty) return pinoModule().pino.destination({ fd: 2, sync: true });
  return prettyModule().default({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true && !process.env.NO_COLOR,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  });
}

class LazyLog implements Log {
  private logger: Logger | undefined;

  constructor(
    readonly level: LogLevel,
    private readonly format: LogFormat,
  ) {}

  private emit(level: Exclude<LogLevel, 'silent'>, args: [object | string, string?]): void {
    if (LEVEL_VALUE[level] < LEVEL_VALUE[this.level]) return;
    this.logger ??= pinoModule().pino({ level: this.level, base: undefined }, destination(this.format));
    if (args[1] === undefined) this.logger[level](args[0] as object);
    else this.logger[level](args[0] as object, args[1]);
  }

  readonly debug: Emit = (...args) => this.emit('debug', args);
  readonly info: Emit = (...args) => this.emit('info', args);
  readonly warn: Emit = (...args) => this.emit('warn', args);
  readonly error: Emit = (...args) => this.emit('error', args);
}

function levelFromEnv(): LogLevel {
  const v = process.env.VSM_LOG_LEVEL;
  return v !== undefined && Object.hasOwn(LEVEL_VALUE, v) ? (v as LogLevel) : DEFAULT_LEVEL;
}

let current: Log = new LazyLog(levelFromEnv(), 'json');

/** Sets the level and format for what follows (the CLI's --log-level, --quiet and --log-format). */
export function configureLog(level: LogLevel, format: LogFormat = 'json'): Log {
  current = new LazyLog(level, format);
  return current;
}

export function log(): Log {
  return current;
}
