// Child for test/log.test.ts: logs below and at the configured level, and says whether pino was
// loaded before and after the first message the level lets through.
import { createRequire } from 'node:module';
import { configureLog, log, type LogLevel } from '../../src/log.ts';

const pinoLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => /[\\/]node_modules[\\/]pino[\\/]/.test(k));
const level = (process.argv[2] ?? 'warn') as LogLevel;
configureLog(level, 'json');
log().debug({ n: 1 }, 'debug message');
log().info('info message');
const before = pinoLoaded();
log().warn({ n: 2 }, 'warn message');
log().error('error message');
process.stdout.write(JSON.stringify({ before, after: pinoLoaded() }));
