// What counts as a pass: an entry point that returns (possibly a partial result), or throws a
// typed VsmError subclass whose exit code is the one documented for it (src/errors.ts). Anything
// else (a TypeError, a RangeError, a bare Error, a VsmError with the Internal code) is a bug.
import { ExitCode, VsmError } from '../src/errors.ts';

export type Outcome =
  | { kind: 'result'; partial: boolean; ms: number }
  | { kind: 'typed'; name: string; code: string; exitCode: number; message: string; ms: number }
  | { kind: 'crash'; name: string; message: string; stack: string; ms: number };

/** Documented exit code per error class (by class name, so subclasses added later still check). */
const DOCUMENTED: Readonly<Record<string, number>> = {
  BadInputError: ExitCode.BadInput,
  UnsupportedError: ExitCode.Unsupported,
  SymbolsNeededError: ExitCode.SymbolsNeeded,
  UsageError: ExitCode.Usage,
};

const ALLOWED_CODES = new Set<number>([ExitCode.BadInput, ExitCode.Unsupported, ExitCode.SymbolsNeeded, ExitCode.Usage]);

export function classifyError(e: unknown, ms: number): Outcome {
  if (e instanceof VsmError && e.constructor !== VsmError) {
    const documented = DOCUMENTED[e.name];
    const ok = documented !== undefined ? e.exitCode === documented : ALLOWED_CODES.has(e.exitCode);
    const oneLine = !e.message.includes('\n');
    if (ok && oneLine) return { kind: 'typed', name: e.name, code: e.code, exitCode: e.exitCode, message: e.message, ms };
    return {
      kind: 'crash',
      name: e.name,
      message: `${!ok ? `exit code ${e.exitCode} is not the documented one for ${e.name}` : 'message is not one line'}: ${e.message}`,
      stack: e.stack ?? '',
      ms,
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { kind: 'crash', name: err.name || 'Error', message: err.message, stack: err.stack ?? '', ms };
}

/** A stable key for de-duplicating crashes: error name plus the first in-project stack frame. */
export function crashKey(o: Extract<Outcome, { kind: 'crash' }>): string {
  const frame =
    o.stack
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith('at ') && /\/(src|samples)\//.test(l)) ?? '';
  const m = /((?:src|samples)\/[^:)\s]+):(\d+):\d+/.exec(frame);
  if (m) return `${o.name}@${m[1]}:${m[2]}`;
  // No frame in the project (an invariant of the harness): key by the message without its numbers and names.
  const gist = o.message.replace(/0x[0-9a-f]+|-?[0-9][0-9.e+]*/gi, '#').split(' ').slice(0, 4).join(' ');
  return `${o.name}@${gist}`;
}
