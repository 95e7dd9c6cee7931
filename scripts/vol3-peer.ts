// What the Volatility 3 comparison scripts share: their options, where Volatility and our CLI are,
// running a command for its output, and a plugin's JSON rows (or the error text it printed).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defaultIsfRoot } from '../samples/kernels.ts';

/** `--name value` from the command line, else the default. */
export const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
export const VOL = process.env.VOL3 ?? '/work/vol3/vol.py';
export const PY = process.env.PYTHON ?? '/usr/bin/python3';
export const ISF_DIR = process.env.ISF_DIR ?? defaultIsfRoot();
export const BIN = fileURLToPath(new URL('../bin/vsm-forensics.js', import.meta.url));
export const JOBS = Number(process.env.PEER_JOBS ?? 2);

/** A command's stdout (and stderr, unless `stdoutOnly`), whatever its exit. */
export function capture(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdoutOnly?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    if (!opts.stdoutOnly) p.stderr.on('data', (d) => (out += d));
    p.on('close', () => resolve(out));
  });
}

/** A plugin's `-r json` rows; its last lines of output when it gave none (Volatility prints errors on stdout). */
export async function volRows<T>(dump: string, plugin: string): Promise<T[] | string> {
  const out = await capture(PY, [VOL, '--offline', '-q', '-s', ISF_DIR, '-f', dump, '-r', 'json', plugin], { stdoutOnly: true });
  const at = out.indexOf('[');
  try {
    return at >= 0 ? (JSON.parse(out.slice(at)) as T[]) : out.trim().split('\n').slice(-2).join(' | ');
  } catch {
    return out.trim().split('\n').slice(-2).join(' | ');
  }
}
