// SHA-256 of the evidence file, streamed in large chunks with the next read in flight while the
// current chunk is hashed (and optionally scanned), so I/O and hashing overlap. Memory: two chunk
// buffers, whatever the file size. The file is opened read-only.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { BadInputError } from '../errors.ts';
import { DEFAULT_CHUNK_BYTES } from './physical.ts';

export interface HashOptions {
  /** Bytes per read (default 8 MiB). */
  readonly chunkBytes?: number;
  /** Called after each chunk with bytes done and the file size (a progress bar, on a TTY). */
  readonly progress?: (done: number, total: number) => void;
  /**
   * Called with each chunk and its file offset, in order, for a scan in the same pass. The buffer
   * is reused after the call returns: copy what you keep.
   */
  readonly onChunk?: (fileOffset: number, data: Buffer) => void;
}

export interface HashResult {
  readonly sha256: string;
  readonly bytes: number;
  readonly seconds: number;
}

export async function hashEvidence(path: string, opts: HashOptions = {}): Promise<HashResult> {
  const chunk = Math.max(64 * 1024, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  const started = process.hrtime.bigint();
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new BadInputError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'dump.open');
  }
  try {
    const total = (await fh.stat()).size;
    const hash = createHash('sha256');
    const bufs = [Buffer.allocUnsafeSlow(chunk), Buffer.allocUnsafeSlow(chunk)];
    let pos = 0;
    let which = 0;
    let pending = fh.read(bufs[0]!, 0, chunk, 0);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const cur = bufs[which]!;
      const at = pos;
      pos += bytesRead;
      which ^= 1;
      pending = fh.read(bufs[which]!, 0, chunk, pos); // next read runs while this chunk is hashed
      const data = bytesRead === chunk ? cur : cur.subarray(0, bytesRead);
      hash.update(data);
      opts.onChunk?.(at, data);
      opts.progress?.(pos, total);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { sha256: hash.digest('hex'), bytes: pos, seconds };
  } finally {
    await fh.close();
  }
}
