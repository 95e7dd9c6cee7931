// Logging: pino is loaded with the first message the level lets through (most runs log nothing at
// the default level), and what is let through is pino's JSON line on stderr, as before.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./helpers/log-child.ts', import.meta.url));

function run(level: string): { loaded: { before: boolean; after: boolean }; lines: Record<string, unknown>[] } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, level], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return { loaded: JSON.parse(r.stdout), lines: r.stderr.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('below the level nothing is written and pino is not loaded; at the level, pino JSON lines on stderr', (t) => {
  const { loaded, lines } = run('warn');
  t.deepEqual(loaded, { before: false, after: true });
  t.deepEqual(lines.map((l) => [l.level, l.msg, l.n]), [[40, 'warn message', 2], [50, 'error message', undefined]]);
  t.true(lines.every((l) => typeof l.time === 'number' && !('pid' in l) && !('hostname' in l)));
});

test('debug lets every message through, in order; silent lets none through and never loads pino', (t) => {
  const debug = run('debug');
  t.deepEqual(debug.lines.map((l) => [l.level, l.msg]), [[20, 'debug message'], [30, 'info message'], [40, 'warn message'], [50, 'error message']]);
  t.deepEqual(debug.loaded, { before: true, after: true });
  const silent = run('silent');
  t.deepEqual(silent.lines, []);
  t.deepEqual(silent.loaded, { before: false, after: false });
});
