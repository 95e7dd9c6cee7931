// Streaming SHA-256 of an evidence file: read-only, in large chunks, never the whole file in memory.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

const CHUNK = 4 << 20;

/** Hex SHA-256 of the file; `onBytes` is told each chunk's length (for a progress bar). */
export function sha256File(path: string, onBytes?: (n: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const stream = createReadStream(path, { flags: 'r', highWaterMark: CHUNK });
    stream.on('data', (chunk) => {
      hash.update(chunk as Buffer);
      onBytes?.((chunk as Buffer).length);
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(hash.digest('hex')));
  });
}
