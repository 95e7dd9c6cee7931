// Writes a report where the user asked (a file, or '-' for stdout) piece by piece, so a large
// report never has to exist as one string. Stdout is written with back-pressure (a pipe to a slow
// reader does not buffer the whole report in memory).
import { once } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';

export const STDOUT_TARGET = '-';

export async function writeOutput(target: string, pieces: Iterable<string>): Promise<void> {
  if (target === STDOUT_TARGET) {
    for (const piece of pieces) if (!process.stdout.write(piece)) await once(process.stdout, 'drain');
    return;
  }
  const fd = openSync(target, 'w');
  try {
    for (const piece of pieces) writeSync(fd, piece);
  } finally {
    closeSync(fd);
  }
}
