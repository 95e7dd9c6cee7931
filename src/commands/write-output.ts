// Writes a report where the user asked (a file, or '-' for stdout) piece by piece, so a large
// report never has to exist as one string. Stdout is written with back-pressure (a pipe to a slow
// reader does not buffer the whole report in memory).
import { once } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import { OutputPathError } from '../errors.ts';

export const STDOUT_TARGET = '-';

export async function writeOutput(target: string, pieces: Iterable<string>): Promise<void> {
  if (target === STDOUT_TARGET) {
    for (const piece of pieces) if (!process.stdout.write(piece)) await once(process.stdout, 'drain');
    return;
  }
  // The path was checked before the analysis; what fails now (a full disk, a path removed since)
  // is still one line and exit 73, not a stack trace.
  let fd: number | undefined;
  try {
    fd = openSync(target, 'w');
    for (const piece of pieces) writeSync(fd, piece);
  } catch (e) {
    throw new OutputPathError(`${target}: cannot be written (${e instanceof Error && 'code' in e ? String(e.code) : String(e)})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
