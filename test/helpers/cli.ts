// Runs the installed-style command (bin/vsm-forensics.js, in a child Node) and returns its exit code
// and output whatever the code: the tests that check what a user sees share this one runner.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const BIN = fileURLToPath(new URL('../../bin/vsm-forensics.js', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** No colours, and no symbol path from the machine's environment (only what the test passes). */
const ENV = { ...process.env, NO_COLOR: '1', _NT_SYMBOL_PATH: '' };

export async function cli(...args: string[]): Promise<CliResult> {
  try {
    const r = await promisify(execFile)(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20, env: ENV });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as CliResult;
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}
