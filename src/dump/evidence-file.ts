// The evidence file: opened read-only ('r'), read with positioned fs.readSync calls. Never
// mapped or loaded whole. One fd per opened dump, shared by its physical-memory view.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BadInputError } from '../errors.ts';

export class EvidenceFile {
  readonly fd: number;
  readonly size: number;
  /** Bytes read from the file so far, by every reader (the evidence pass, page reads, headers). */
  bytesRead = 0;
  private closed = false;

  constructor(readonly path: string) {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new BadInputError(`cannot open ${path}: ${code ?? (e as Error).message}`, 'dump.open');
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile() && !st.isBlockDevice()) throw new BadInputError(`${path} is not a regular file`, 'dump.not-file');
      this.size = st.size;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    this.fd = fd;
  }

  /**
   * Reads up to `length` bytes at file offset `pos` into `buf` at `at`; returns the count read
   * (short only at end of file).
   */
  readInto(buf: Buffer, at: number, length: number, pos: number): number {
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, at + done, length - done, pos + done);
      if (n === 0) break;
      done += n;
    }
    this.bytesRead += done;
    return done;
  }

  /** Exactly `length` bytes at `pos`, or BadInput naming `what` when the file is too short. */
  readExact(pos: number, length: number, what: string): Buffer {
    if (pos < 0 || length < 0 || pos + length > this.size) {
      throw new BadInputError(`${what} (0x${pos.toString(16)}+0x${length.toString(16)}) runs past the end of the file (0x${this.size.toString(16)} bytes): truncated or damaged`, 'dump.truncated');
    }
    const buf = Buffer.allocUnsafe(length);
    const n = this.readInto(buf, 0, length, pos);
    if (n !== length) throw new BadInputError(`${what}: short read at 0x${pos.toString(16)}`, 'dump.short-read');
    return buf;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
