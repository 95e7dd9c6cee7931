// One sequential read of the evidence file that feeds both the SHA-256 and the physical-page scan.
//
// The file is read in file order, in chunks of at most `chunkBytes`, on the calling thread
// (EvidenceFile.readInto, so every byte is counted by the evidence layer). Each chunk is handed to a
// hash worker thread through shared memory (no copies) and, for the parts that are present physical
// pages, to the scan's visitor on the calling thread while the worker hashes: the hash on one core,
// the scan on the other. Bytes that are not pages (headers, bitmaps, run tables, tails) are read
// and hashed only. The scan sees exactly the chunks FilePhysicalMemory.forEachChunk gives it (same
// boundaries, same order): a chunk holds whole scan chunks, never a piece of one.
//
// Memory: SLOTS shared buffers of `chunkBytes`, whatever the file size. The calling thread waits
// for the worker with Atomics.wait (allowed on Node's main thread); the worker never needs the
// caller's event loop, so the scan stays synchronous. When the scan hands forEachChunk an `idle`
// queue (IdleWork), a wait for a free buffer runs the queued jobs one at a time instead, and sleeps
// only when none is left: the calling thread's own later work, done while the hash runs. The worker
// is started when the pass is opened, so that it is ready by the time the scan begins.
//
// When the file order of the pages is not their physical order (or the physical memory is not the
// file's), one pass cannot give the scan what it saw before: then the scan reads its pages as
// usual and the file is hashed in a pass of its own (`onePass` false says so).
//
//   const pass = openEvidencePass(dump);          // before the analysis
//   analyzeDump(pass.dump, …)                      // its scan's forEachChunk is the pass
//   const { sha256 } = pass.finish();              // reads what the scan did not, then the digest
import { resolve } from 'node:path';
import { BadInputError } from '../errors.ts';
import { onFirstUse } from '../on-first-use.ts';
import { EvidenceFile } from './evidence-file.ts';
import { DEFAULT_CHUNK_BYTES, FilePhysicalMemory, type FileSegment } from './physical.ts';
import { PAGE_SIZE, type Dump, type IdleWork, type MissingRange, type PhysicalMemory, type PhysicalRead, type PhysicalRun } from './types.ts';

// Loaded when a hash is first made: a --no-hash run never loads them.
const crypto = onFirstUse<typeof import('node:crypto')>('node:crypto');
const workerThreads = onFirstUse<typeof import('node:worker_threads')>('node:worker_threads');

export interface EvidencePassOptions {
  /** Bytes per read (default 8 MiB, the scan's chunk). */
  readonly chunkBytes?: number;
  /** Called after each read with bytes of the file done and its size (a progress bar, on a TTY). */
  readonly progress?: (done: number, total: number) => void;
  /** Hash on the calling thread even for large files (tests, comparisons). */
  readonly inline?: boolean;
  /**
   * The file whose SHA-256 is wanted, when it is not the file the pages are read from (a VMware
   * .vmss named on the command line, its pages in the .vmem beside it): hashed on its own.
   */
  readonly hashPath?: string;
}

export interface EvidencePassResult {
  readonly sha256: string;
  readonly bytes: number;
  /** Whole seconds spent reading and hashing (the pass and, if needed, the rest of the file). */
  readonly seconds: number;
  /** True when the scan and the hash shared one read of the file. */
  readonly onePass: boolean;
  /** Seconds the calling thread slept waiting for the hash worker (a free buffer, then the digest). */
  readonly waitSeconds: number;
  /** Idle jobs run while the hash worker was busy, and the seconds they took. */
  readonly idleJobs: number;
  readonly idleSeconds: number;
}

export interface EvidencePass {
  /** The dump whose physical memory's first forEachChunk is the shared pass. */
  readonly dump: Dump;
  /** Reads whatever the pass has not read yet (all of the file when no scan ran) and returns the digest. */
  finish(): EvidencePassResult;
  /** Stops the hash worker (finish does it too; safe to call more than once). */
  close(): void;
}

/**
 * Shared buffers in flight: one being read and scanned, the others queued for or in the hash. While
 * the reader runs an idle job instead of waiting, the worker has three chunks (24 MiB, ~15-20 ms of
 * hashing) to go on with. (Six were tried: 16 MiB more at the peak of the 200,000-handle resource
 * dump, ~285 MB against the 300 MB bound, for no gain measurable on the shared machine.)
 */
const SLOTS = 4;
/** Smallest read: below this the per-read overhead dominates. */
const MIN_CHUNK_BYTES = 64 * 1024;
/** How long a wait for the hash worker lasts before its state is looked at again (not a deadline). */
const WAIT_SLICE_MS = 1000;

/** Words of the control block shared with the hash worker. */
const C_PRODUCED = 0; // chunks handed over
const C_CONSUMED = 1; // chunks hashed
const C_SIGNAL = 2; // bumped on every hand-over and at the end (the worker waits on it)
const C_END = 3; // no more chunks
const C_DONE = 4; // digest written
const C_FAILED = 5; // the worker caught an error
const C_LEN = 6; // then one length per slot
const DIGEST_HEX = 64;

// Runs as a CommonJS worker: hashes chunk after chunk in order, synchronously, until told to end.
const WORKER = `
const { workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const ctrl = new Int32Array(workerData.ctrl);
const slots = workerData.slots.map((s) => Buffer.from(s));
const digest = Buffer.from(workerData.digest);
const [PRODUCED, CONSUMED, SIGNAL, END, DONE, FAILED, LEN] = [${C_PRODUCED}, ${C_CONSUMED}, ${C_SIGNAL}, ${C_END}, ${C_DONE}, ${C_FAILED}, ${C_LEN}];
try {
  const h = createHash('sha256');
  let k = 0;
  for (;;) {
    const signal = Atomics.load(ctrl, SIGNAL);
    if (Atomics.load(ctrl, PRODUCED) > k) {
      const slot = k % slots.length;
      h.update(slots[slot].subarray(0, Atomics.load(ctrl, LEN + slot)));
      Atomics.store(ctrl, CONSUMED, ++k);
      Atomics.notify(ctrl, CONSUMED);
      continue;
    }
    if (Atomics.load(ctrl, END)) break;
    Atomics.wait(ctrl, SIGNAL, signal);
  }
  digest.write(h.digest('hex'), 'latin1');
  Atomics.store(ctrl, DONE, 1);
} catch {
  Atomics.store(ctrl, FAILED, 1);
}
Atomics.notify(ctrl, CONSUMED);
Atomics.notify(ctrl, DONE);
`;

/** A run of file bytes: pages the scan sees (basePage set) or bytes only hashed. */
interface Piece {
  readonly fileOffset: number;
  readonly length: number;
  readonly basePage: number | null;
}

/** Whether the segments' file offsets only go forward (file order is page order), so one pass can serve the scan. */
export function segmentsInFileOrder(segments: Iterable<FileSegment>): boolean {
  let end = 0;
  for (const seg of segments) {
    if (seg.fileOffset < end) return false;
    end = seg.fileOffset + seg.pageCount * PAGE_SIZE;
  }
  return true;
}

/** The scan's chunks, exactly as FilePhysicalMemory.forEachChunk cuts them (same boundaries, same order). */
function* scanChunks(segments: Iterable<FileSegment>, pagesPerChunk: number): Iterable<Piece> {
  for (const seg of segments) {
    for (let i = 0; i < seg.pageCount; i += pagesPerChunk) {
      const pages = Math.min(pagesPerChunk, seg.pageCount - i);
      yield { fileOffset: seg.fileOffset + i * PAGE_SIZE, length: pages * PAGE_SIZE, basePage: seg.basePage + i };
    }
  }
}

/** Every byte of the file once, in order: the scan chunks, with hash-only pieces filling the gaps. */
function* filePieces(chunks: Iterable<Piece>, fileSize: number): Iterable<Piece> {
  let at = 0;
  for (const c of chunks) {
    if (c.fileOffset > at) yield { fileOffset: at, length: c.fileOffset - at, basePage: null };
    yield c;
    at = c.fileOffset + c.length;
  }
  if (fileSize > at) yield { fileOffset: at, length: fileSize - at, basePage: null };
}

/** Groups pieces into reads of at most `cap` bytes; a scan chunk is never split, a hash-only piece may be. */
function* reads(pieces: Iterable<Piece>, cap: number): Iterable<{ fileOffset: number; length: number; visits: Piece[] }> {
  let cur: { fileOffset: number; length: number; visits: Piece[] } | null = null;
  for (let p of pieces) {
    for (;;) {
      cur ??= { fileOffset: p.fileOffset, length: 0, visits: [] };
      const room = cap - cur.length;
      if (p.length <= room) {
        cur.length += p.length;
        if (p.basePage !== null) cur.visits.push(p);
        break;
      }
      if (p.basePage === null && room > 0) {
        cur.length += room;
        p = { fileOffset: p.fileOffset + room, length: p.length - room, basePage: null };
      }
      if (cur.length > 0) yield cur;
      cur = null;
    }
  }
  if (cur && cur.length > 0) yield cur;
}

/** Time the calling thread spent waiting for the hash, and in idle jobs instead. */
interface WaitStats {
  waitSeconds: number;
  idleJobs: number;
  idleSeconds: number;
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** The SHA-256 sink: a worker on shared slots, or inline on this thread. */
interface HashSink {
  /** The buffer size it was made for. */
  readonly cap: number;
  /** A buffer to read the next chunk into (waits for the worker to free one, running `idle` jobs meanwhile). */
  slot(idle?: IdleWork): Buffer;
  /** The chunk just read into slot() is `length` bytes: hash it. */
  submit(length: number): void;
  digest(): string;
  close(): void;
}

function inlineSink(cap: number): HashSink {
  const h = crypto().createHash('sha256');
  const buf = Buffer.allocUnsafeSlow(cap);
  return { cap, slot: () => buf, submit: (n) => void h.update(buf.subarray(0, n)), digest: () => h.digest('hex'), close: () => {} };
}

function workerSink(cap: number, stats: WaitStats): HashSink {
  const ctrlBuf = new SharedArrayBuffer(4 * (C_LEN + SLOTS));
  const ctrl = new Int32Array(ctrlBuf);
  const shared = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(cap));
  const views = shared.map((s) => Buffer.from(s));
  const digestBuf = new SharedArrayBuffer(DIGEST_HEX);
  // No preloads (--import tsx, the orphan guard): the hash worker needs node:crypto only.
  const worker = new (workerThreads().Worker)(WORKER, { eval: true, execArgv: [], workerData: { ctrl: ctrlBuf, slots: shared, digest: digestBuf } });
  worker.unref();
  let produced = 0;
  let closed = false;
  const failed = () => new Error('the SHA-256 worker failed');
  /** Waits until word `i` is no longer `seen` (or the worker failed). */
  const waitWhile = (i: number, seen: number) => {
    const t0 = process.hrtime.bigint();
    while (Atomics.load(ctrl, i) === seen) {
      if (Atomics.load(ctrl, C_FAILED)) throw failed();
      Atomics.wait(ctrl, i, seen, WAIT_SLICE_MS);
    }
    stats.waitSeconds += seconds(t0);
  };
  /** Runs one idle job; false when there is none (or no queue). */
  const runIdle = (idle: IdleWork | undefined): boolean => {
    if (!idle) return false;
    const t0 = process.hrtime.bigint();
    const ran = idle();
    if (ran) {
      stats.idleJobs++;
      stats.idleSeconds += seconds(t0);
    }
    return ran;
  };
  const bump = () => {
    Atomics.add(ctrl, C_SIGNAL, 1);
    Atomics.notify(ctrl, C_SIGNAL);
  };
  return {
    cap,
    slot(idle) {
      // The slot of chunk `produced` is free once chunk `produced - SLOTS` is hashed; until then,
      // the caller's queued work, one job at a time, and a sleep only when none is left.
      for (let c = Atomics.load(ctrl, C_CONSUMED); c <= produced - SLOTS; c = Atomics.load(ctrl, C_CONSUMED)) {
        if (Atomics.load(ctrl, C_FAILED)) throw failed();
        if (!runIdle(idle)) waitWhile(C_CONSUMED, c);
      }
      return views[produced % SLOTS]!;
    },
    submit(length) {
      Atomics.store(ctrl, C_LEN + (produced % SLOTS), length);
      Atomics.store(ctrl, C_PRODUCED, ++produced);
      bump();
    },
    digest() {
      Atomics.store(ctrl, C_END, 1);
      bump();
      waitWhile(C_DONE, 0);
      return Buffer.from(digestBuf).toString('latin1');
    },
    close() {
      if (closed) return;
      closed = true;
      // Let it leave its wait by itself, then stop it (it is unref'd: it never holds the process).
      Atomics.store(ctrl, C_END, 1);
      bump();
      void worker.terminate();
    },
  };
}

/** Physical memory whose first forEachChunk is the shared pass; everything else is the dump's own. */
class PassPhysicalMemory implements PhysicalMemory {
  constructor(
    private readonly inner: FilePhysicalMemory,
    private readonly pass: (visit: (basePage: number, data: Buffer) => void, chunkBytes?: number, idle?: IdleWork) => boolean,
  ) {}
  get pageLimit(): number {
    return this.inner.pageLimit;
  }
  get presentPages(): number {
    return this.inner.presentPages;
  }
  get missing(): readonly MissingRange[] {
    return this.inner.missing;
  }
  runs(): Iterable<PhysicalRun> {
    return this.inner.runs();
  }
  isPresent(pfn: number): boolean {
    return this.inner.isPresent(pfn);
  }
  readPage(pfn: number): Buffer | undefined {
    return this.inner.readPage(pfn);
  }
  readPageInto(pfn: number, into: Buffer): boolean {
    return this.inner.readPageInto(pfn, into);
  }
  read(pa: number, length: number): PhysicalRead {
    return this.inner.read(pa, length);
  }
  forEachChunk(visit: (basePage: number, data: Buffer) => void, chunkBytes?: number, idle?: IdleWork): void {
    if (!this.pass(visit, chunkBytes, idle)) this.inner.forEachChunk(visit, chunkBytes, idle);
  }
  close(): void {
    this.inner.close();
  }
}

/**
 * Prepares one read of `dump`'s evidence file for the hash and the scan. Nothing is read until the
 * analysis's scan asks for its chunks or finish() is called.
 */
export function openEvidencePass(dump: Dump, opts: EvidencePassOptions = {}): EvidencePass {
  // Bytes per read; grown to the scan's chunk when it asks for larger ones (before any read).
  let cap = Math.max(MIN_CHUNK_BYTES, Math.floor((opts.chunkBytes ?? DEFAULT_CHUNK_BYTES) / PAGE_SIZE) * PAGE_SIZE);
  const pm = dump.physical instanceof FilePhysicalMemory ? dump.physical : undefined;
  const file: EvidenceFile | undefined = pm?.file;
  // The pages' file is the hashed file unless another one is named.
  const shared = file !== undefined && (opts.hashPath === undefined || resolve(opts.hashPath) === resolve(file.path));
  let sink: HashSink | undefined;
  let done: EvidencePassResult | undefined;
  let passSeconds = 0;
  let passRan = false;
  let onePass = false;
  const stats: WaitStats = { waitSeconds: 0, idleJobs: 0, idleSeconds: 0 };
  const newSink = (size: number) => (opts.inline || size < SLOTS * cap ? inlineSink(cap) : workerSink(cap, stats));
  // The worker starts now, while the kernel is found and the list walked: ready when the scan begins.
  if (file && shared) sink = newSink(file.size);

  /** Reads [from, file end) in order, hashing it, visiting the scan chunks among it. */
  const readFile = (f: EvidenceFile, chunks: Iterable<Piece>, visit: ((basePage: number, data: Buffer) => void) | null, idle?: IdleWork): void => {
    const t0 = process.hrtime.bigint();
    // Made before the scan asked for larger chunks (nothing hashed yet): made again for them.
    if (sink && sink.cap < cap) {
      sink.close();
      sink = undefined;
    }
    sink ??= newSink(f.size);
    try {
      for (const r of reads(filePieces(chunks, f.size), cap)) {
        const buf = sink.slot(idle);
        const got = f.readInto(buf, 0, r.length, r.fileOffset);
        if (got !== r.length) throw new BadInputError(`short read at 0x${(r.fileOffset + got).toString(16)}: the evidence file changed while it was read`, 'dump.changed');
        sink.submit(got);
        if (visit) for (const v of r.visits) visit(v.basePage!, buf.subarray(v.fileOffset - r.fileOffset, v.fileOffset - r.fileOffset + v.length));
        opts.progress?.(r.fileOffset + got, f.size);
      }
    } finally {
      passSeconds += seconds(t0);
    }
  };

  /** The scan's forEachChunk: the shared pass the first time, when the pages' file order allows it. */
  const scanPass = (visit: (basePage: number, data: Buffer) => void, chunkBytes = DEFAULT_CHUNK_BYTES, idle?: IdleWork): boolean => {
    if (passRan || !pm || !file || !shared) return false;
    passRan = true;
    if (!segmentsInFileOrder(pm.segments())) return false;
    const pagesPerChunk = Math.max(1, Math.floor(chunkBytes / PAGE_SIZE));
    cap = Math.max(cap, pagesPerChunk * PAGE_SIZE);
    onePass = true;
    readFile(file, scanChunks(pm.segments(), pagesPerChunk), visit, idle);
    return true;
  };

  const physical = pm ? new PassPhysicalMemory(pm, scanPass) : undefined;
  const passDump: Dump = physical ? { ...dump, physical, close: () => dump.close() } : dump;

  return {
    dump: passDump,
    finish(): EvidencePassResult {
      if (done) return done;
      const own = shared ? undefined : opts.hashPath !== undefined ? new EvidenceFile(opts.hashPath) : undefined;
      try {
        const target = own ?? file;
        if (!target) throw new BadInputError('the evidence has no file to hash', 'dump.no-file');
        // No scan ran, or it could not share the read: hash the whole file now.
        if (!onePass) readFile(target, [], null);
        const t0 = process.hrtime.bigint();
        const sha256 = sink!.digest();
        passSeconds += seconds(t0);
        done = { sha256, bytes: target.size, seconds: passSeconds, onePass, ...stats };
        return done;
      } finally {
        own?.close();
        this.close();
      }
    },
    close(): void {
      sink?.close();
      // Its shared buffers go with it (the report is rendered after: SLOTS × chunkBytes less at the peak).
      sink = undefined;
    },
  };
}
