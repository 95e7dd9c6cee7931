// Dump writers: full crash dump (DumpType 1), bitmap (5), live-kernel bitmap (6), kernel RDMP (8)
// and raw image. Each streams the machine's pages in large chunks over the filler background;
// nothing holds the whole image in memory. Layouts follow ../shared/docs/formats.md §1 and, for
// RDMP, kdmp-parser's structs (RDMP_HEADER64 at 0x2000, PFN ranges at 0x2030).
import { closeSync, openSync, writeSync } from 'node:fs';
import { PAGE } from './memory.ts';
import type { Machine } from './machine.ts';

export type Form = 'full' | 'bitmap' | 'active' | 'kernel' | 'raw';
export const FORMS: readonly Form[] = ['full', 'bitmap', 'active', 'kernel', 'raw'];

export const DUMP_TYPE: Record<Exclude<Form, 'raw'>, number> = { full: 1, bitmap: 5, active: 6, kernel: 8 };
const HEADER_SIZE = 0x2000;

export interface Run {
  readonly basePage: number;
  readonly pageCount: number;
}

/** Which physical pages a form stores, and where. */
export interface FormPlan {
  readonly form: Form;
  /** 1 = the page's bytes are in the file (raw: every page, holes as zeros). */
  readonly stored: Uint8Array;
  readonly storedCount: number;
  /** File offset of the first stored page. */
  readonly firstPageOffset: number;
  /** Full size of the file before any truncation. */
  readonly fileSize: number;
  /** Runs of stored pages in increasing order. */
  readonly runs: Run[];
  /** Header bytes before the first page. */
  readonly header: Buffer;
  /** PIDs whose user pages an active (live kernel) dump leaves out. */
  readonly excludedUserPids: number[];
}

function runsOf(stored: Uint8Array): Run[] {
  const runs: Run[] = [];
  let start = -1;
  for (let p = 0; p <= stored.length; p++) {
    const on = p < stored.length && stored[p] === 1;
    if (on && start < 0) start = p;
    if (!on && start >= 0) {
      runs.push({ basePage: start, pageCount: p - start });
      start = -1;
    }
  }
  return runs;
}

export function planForm(m: Machine, form: Form): FormPlan {
  const n = m.mem.pageLimit;
  const stored = new Uint8Array(n);
  const excludedUserPids: number[] = [];
  if (form === 'raw') stored.fill(1);
  else if (form === 'kernel') for (const p of m.kernelPfns) stored[p] = 1;
  else {
    stored.fill(1);
    for (const h of m.mem.holes) stored.fill(0, h.basePage, h.basePage + h.pageCount);
    if (form === 'active') {
      // A live kernel dump keeps kernel memory and only some processes' user pages.
      let k = 0;
      for (const p of m.processes) {
        if (p.userPtes.length === 0) continue;
        if (p.secure || k++ % 2 === 1) {
          excludedUserPids.push(p.spec.pid);
          for (const u of p.userPtes) if (u.pfn !== undefined && !m.kernelPfns.has(u.pfn)) stored[u.pfn] = 0;
        }
      }
    }
  }
  let storedCount = 0;
  for (let p = 0; p < n; p++) storedCount += stored[p];
  const runs = form === 'raw' ? [{ basePage: 0, pageCount: n }] : runsOf(stored);
  let header: Buffer;
  let firstPageOffset: number;
  if (form === 'raw') {
    header = Buffer.alloc(0);
    firstPageOffset = 0;
  } else if (form === 'full') {
    if (runs.length > 42) throw new Error(`too many runs for a full dump header (${runs.length})`);
    firstPageOffset = HEADER_SIZE;
    header = dumpHeader(m, form, firstPageOffset + storedCount * PAGE, runs);
  } else if (form === 'kernel') {
    const rangesBytes = (runs.length + 1) * 16;
    firstPageOffset = Math.ceil((HEADER_SIZE + 0x30 + rangesBytes) / PAGE) * PAGE;
    header = Buffer.concat([dumpHeader(m, form, firstPageOffset + storedCount * PAGE, null), Buffer.alloc(firstPageOffset - HEADER_SIZE)]);
    const r = HEADER_SIZE;
    header.writeUInt32LE(0x40, r);
    header.write('RDMP', r + 4, 'latin1');
    header.write('DUMP', r + 8, 'latin1');
    header.writeBigUInt64LE(BigInt(firstPageOffset - (HEADER_SIZE + 0x20)), r + 0x10); // MetadataSize
    header.writeBigUInt64LE(BigInt(firstPageOffset), r + 0x18);
    runs.forEach((run, i) => {
      header.writeBigUInt64LE(BigInt(run.basePage), r + 0x30 + i * 16);
      header.writeBigUInt64LE(BigInt(run.pageCount), r + 0x38 + i * 16);
    });
  } else {
    const bitmapBytes = Math.ceil(n / 8);
    firstPageOffset = Math.ceil((HEADER_SIZE + 0x38 + bitmapBytes) / PAGE) * PAGE;
    header = Buffer.concat([dumpHeader(m, form, firstPageOffset + storedCount * PAGE, null), Buffer.alloc(firstPageOffset - HEADER_SIZE)]);
    const b = HEADER_SIZE;
    header.write(form === 'bitmap' ? 'FDMP' : 'SDMP', b, 'latin1');
    header.write('DUMP', b + 4, 'latin1');
    header.writeBigUInt64LE(BigInt(firstPageOffset), b + 0x20);
    header.writeBigUInt64LE(BigInt(storedCount), b + 0x28);
    header.writeBigUInt64LE(BigInt(n), b + 0x30);
    for (let p = 0; p < n; p++) if (stored[p]) header[b + 0x38 + (p >> 3)] |= 1 << (p & 7);
  }
  return { form, stored, storedCount, firstPageOffset, fileSize: firstPageOffset + (form === 'raw' ? n : storedCount) * PAGE, runs, header, excludedUserPids };
}

/** DUMP_HEADER64 as Windows fills it: 'PAGE' everywhere not written. */
function dumpHeader(m: Machine, form: Exclude<Form, 'raw'>, fileSize: number, runs: Run[] | null): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  for (let i = 0; i < HEADER_SIZE; i += 4) h.write('PAGE', i, 'latin1');
  h.write('DU64', 4, 'latin1');
  h.writeUInt32LE(0xf, 8);
  h.writeUInt32LE(m.build, 0x0c);
  h.writeBigUInt64LE(BigInt(m.system.dtb), 0x10);
  h.writeBigUInt64LE(m.mmPfnDatabase, 0x18);
  h.writeBigUInt64LE(m.psLoadedModuleList, 0x20);
  h.writeBigUInt64LE(m.psActiveProcessHead, 0x28);
  h.writeUInt32LE(0x8664, 0x30);
  h.writeUInt32LE(m.scenario.processors ?? 4, 0x34);
  const bc = m.scenario.bugCheck ?? { code: '0xe2', params: ['0', '0', '0', '0'] };
  h.writeUInt32LE(Number(bc.code), 0x38);
  h.writeUInt32LE(0, 0x3c);
  for (let i = 0; i < 4; i++) h.writeBigUInt64LE(BigInt(bc.params[i] ?? '0'), 0x40 + i * 8);
  h.fill(0, 0x60, 0x80); // VersionUser
  h.writeBigUInt64LE(m.kdDebuggerDataBlock, 0x80);
  if (runs) {
    h.fill(0, 0x88, 0x88 + 0x10 + runs.length * 16);
    h.writeUInt32LE(runs.length, 0x88);
    h.writeBigUInt64LE(BigInt(runs.reduce((a, r) => a + r.pageCount, 0)), 0x90);
    runs.forEach((r, i) => {
      h.writeBigUInt64LE(BigInt(r.basePage), 0x98 + i * 16);
      h.writeBigUInt64LE(BigInt(r.pageCount), 0xa0 + i * 16);
    });
  }
  // CONTEXT of the crashing thread (x64 CONTEXT layout, 0x4d0 bytes at 0x348).
  const c = 0x348;
  h.fill(0, c, c + 0x4d0);
  h.writeUInt32LE(0x10005f, c + 0x30); // ContextFlags: CONTEXT_ALL
  h.writeUInt32LE(0x1f80, c + 0x34); // MxCsr
  h.writeUInt16LE(0x10, c + 0x38); // SegCs
  h.writeUInt16LE(0x2b, c + 0x3a);
  h.writeUInt16LE(0x2b, c + 0x3c);
  h.writeUInt16LE(0x53, c + 0x3e);
  h.writeUInt16LE(0x2b, c + 0x40);
  h.writeUInt16LE(0x18, c + 0x42);
  h.writeUInt32LE(0x282, c + 0x44); // EFlags
  h.writeBigUInt64LE(0xe2n, c + 0x80); // Rcx: bugcheck code
  h.writeBigUInt64LE(0xfffff00000000000n + 0x6b4c8n * 0x1000n + 0xc98n, c + 0x98); // Rsp: a kernel stack
  h.writeBigUInt64LE(m.kernelBase + 0x3f9c40n, c + 0xf8); // Rip: inside the kernel image
  h.writeUInt16LE(0x27f, c + 0x100); // FltSave.ControlWord
  h.writeUInt32LE(0x1f80, c + 0x118); // FltSave.MxCsr (kdmp-parser checks it equals MxCsr)
  h.writeUInt32LE(0xffff, c + 0x11c);
  // EXCEPTION_RECORD64 at 0xF00.
  h.fill(0, 0xf00, 0xf98);
  h.writeUInt32LE(0x80000003, 0xf00);
  h.writeBigUInt64LE(m.kernelBase + 0x3f9c40n, 0xf10);
  h.writeUInt32LE(DUMP_TYPE[form], 0xf98);
  h.writeUInt32LE(0, 0xf9c);
  h.writeBigUInt64LE(BigInt(fileSize), 0xfa0);
  h.writeBigUInt64LE(m.crashTime, 0xfa8);
  h.writeBigUInt64LE(m.crashTime - m.bootTime, 0x1030);
  h.writeUInt32LE(0, 0x1038);
  h.writeUInt32LE(0, 0x103c);
  h.writeUInt32LE(m.scenario.productType ?? 1, 0x1040);
  h.writeUInt32LE(0x110, 0x1044);
  h.writeUInt32LE(0, 0x1048);
  h.fill(0, 0x104c, 0x1050); // Unused1, KdSecondaryVersion, Unused[2]
  return h;
}

/** File offset of physical page `pfn` in a plan's file (undefined when not stored). */
export function fileOffsetOf(plan: FormPlan, pfn: number): number | undefined {
  if (pfn < 0 || pfn >= plan.stored.length || !plan.stored[pfn]) return undefined;
  if (plan.form === 'raw') return pfn * PAGE;
  let before = 0;
  for (const r of plan.runs) {
    if (pfn >= r.basePage && pfn < r.basePage + r.pageCount) return plan.firstPageOffset + (before + pfn - r.basePage) * PAGE;
    before += r.pageCount;
  }
  return undefined;
}

/** Streams the plan's file to `path`, cut at `cutAt` bytes when given. Returns bytes written. */
export function writeForm(m: Machine, plan: FormPlan, path: string, cutAt?: number): number {
  const limit = Math.min(cutAt ?? plan.fileSize, plan.fileSize);
  const fd = openSync(path, 'w');
  const CHUNK = 16 * 1024 * 1024;
  const chunk = Buffer.allocUnsafe(CHUNK);
  let used = 0;
  let written = 0;
  const flush = () => {
    const n = Math.min(used, limit - written);
    if (n > 0) writeSync(fd, chunk, 0, n, written);
    written += n;
    used = 0;
  };
  try {
    if (plan.header.length) {
      plan.header.copy(chunk, 0);
      used = plan.header.length;
    }
    const holeZero = plan.form === 'raw';
    const pages = m.mem.pages;
    for (const run of plan.runs) {
      for (let p = run.basePage; p < run.basePage + run.pageCount; p++) {
        if (written >= limit) break;
        const b = pages.get(p);
        if (b) b.copy(chunk, used);
        else if (holeZero && m.mem.state[p] === 2 && m.mem.isHole(p)) chunk.fill(0, used, used + PAGE);
        else m.filler.write(p, chunk, used);
        used += PAGE;
        if (used + PAGE > CHUNK) flush();
      }
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return written;
}
