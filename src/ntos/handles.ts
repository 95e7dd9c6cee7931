// A process's handle table: EPROCESS.ObjectTable → HANDLE_TABLE.TableCode (low 2 bits: level 0, 1
// or 2; see handle-table-format.ts) → level-0 pages of HANDLE_TABLE_ENTRY. Each used entry gives the
// handle value (index × 4), the object (body address), granted access, the object's type (through
// the OBJECT_HEADER's encoded TypeIndex), for Process/Thread objects the target PID/TID and image
// name, for File objects FILE_OBJECT.FileName, and for other named objects their name.
//
// Entry encodings, read from the layout's fields (each build's own):
//   9600+: ObjectPointerBits (bits 20..63 of the first quadword) << 4, with the kernel-half sign bits,
//          is the OBJECT_HEADER; GrantedAccessBits (25 bits) of the second quadword; a zero first
//          quadword is a free entry.
//   7601:  Object (low 3 bits are attributes) is the OBJECT_HEADER; GrantedAccess is the mask.
// Bounded by `maxHandles` (entries reported) and `maxPages` (level-0 pages read), cycle-safe (a page
// referenced twice is read once), and limited to NextHandleNeedingPool when that is readable.
//
// Entry point for the analysis: `walkHandles(vm, layout, eprocessVa, types, { maxHandles })`, with
// `types` from object-header.ts `loadObjectTypes` (once per dump).
import type { VirtualMemory } from '../dump/types.ts';
import { hex } from '../dump/numbers.ts';
import { decodeRights, GRANTED_ACCESS_MASK } from './access-rights.ts';
import {
  HANDLE_TABLE_ENTRY_SIZE,
  HANDLE_TABLE_PAGE_SIZE,
  handleValue,
  KERNEL_HALF_SIGN_BITS,
  LOWLEVEL_COUNT,
  MAX_TABLE_LEVEL,
  MIDLEVEL_COUNT,
  POINTER_SIZE,
  splitTableCode,
} from './handle-table-format.ts';
import type { FieldPlace, KernelLayout, LayoutFieldKey } from './layout.ts';
import { readObjectHeader, type ObjectTypes } from './object-header.ts';
import { isKernelPointer, readUnicodeString } from './process.ts';
import { decodeBytes } from './strings.ts';
import { fieldValue, readFields } from './struct-read.ts';
import { tcbOffset } from './threads.ts';
import { IssueLog, NOTHING_UNREADABLE, walkResult, type Walk } from './walk-result.ts';

/** Most handles reported per process. */
export const DEFAULT_HANDLE_CAP = 1 << 18;
/** Most level-0 pages read per process (4096 pages = 1,048,576 entries). */
export const DEFAULT_HANDLE_PAGE_CAP = 4096;
const PAGE_MASK = BigInt(HANDLE_TABLE_PAGE_SIZE - 1);

export interface HandleTarget {
  readonly pid: number | null;
  readonly tid: number | null;
  /** Image name of the target process (of the thread's process for a Thread). */
  readonly name: string | null;
}

export interface HandleInfo {
  readonly handle: number;
  readonly type: string | null;
  readonly grantedAccess: number;
  /** Decoded rights for Process and Thread objects; empty for other types. */
  readonly rights: readonly string[];
  /** Object body address ("0x…"). */
  readonly object: string;
  /** For Process and Thread objects; null otherwise. */
  readonly target: HandleTarget | null;
  /** FILE_OBJECT.FileName for files, the object's name for other named objects; null for Process/Thread. */
  readonly name: string | null;
  readonly unreadable: readonly string[];
}

export interface HandleWalkOptions {
  readonly maxHandles?: number;
  readonly maxPages?: number;
}

/** Decodes the entry at byte `at` of a handle-table page (null for a free entry). */
type EntryDecoder = (page: Buffer, at: number) => { header: bigint; access: number } | null;

function bits(v: bigint, p: FieldPlace): bigint {
  if (p.bitPosition === undefined || p.bitLength === undefined) return v;
  return (v >> BigInt(p.bitPosition)) & ((1n << BigInt(p.bitLength)) - 1n);
}

/** Whether the 8 bytes at `at` are zero (tested before a BigInt is made: most entries of a page are free). */
function zeroQword(b: Buffer, at: number): boolean {
  return b.readUInt32LE(at) === 0 && b.readUInt32LE(at + 4) === 0;
}

/** The entry decoder of this build, or why there is none. */
export function entryDecoder(layout: KernelLayout): EntryDecoder | string {
  const f = layout.fields;
  const ptr = f['HANDLE_TABLE_ENTRY.ObjectPointerBits'];
  const access = f['HANDLE_TABLE_ENTRY.GrantedAccessBits'];
  const inEntry = (p: FieldPlace, bytes: number) => p.offset + bytes <= HANDLE_TABLE_ENTRY_SIZE;
  if (ptr && access) {
    if (!inEntry(ptr, 8) || !inEntry(access, 8)) return 'the layout places HANDLE_TABLE_ENTRY fields outside the entry';
    return (page, at) => {
      if (zeroQword(page, at + ptr.offset)) return null;
      const low = page.readBigUInt64LE(at + ptr.offset);
      const header = (bits(low, ptr) << 4n) | KERNEL_HALF_SIGN_BITS;
      return { header, access: Number(bits(page.readBigUInt64LE(at + access.offset), access)) & GRANTED_ACCESS_MASK };
    };
  }
  const obj = f['HANDLE_TABLE_ENTRY.Object'];
  const ga = f['HANDLE_TABLE_ENTRY.GrantedAccess'];
  if (obj && ga) {
    if (!inEntry(obj, 8) || !inEntry(ga, 4)) return 'the layout places HANDLE_TABLE_ENTRY fields outside the entry';
    return (page, at) => {
      if (zeroQword(page, at + obj.offset)) return null;
      const raw = page.readBigUInt64LE(at + obj.offset);
      return { header: raw & ~7n, access: page.readUInt32LE(at + ga.offset) & GRANTED_ACCESS_MASK };
    };
  }
  return 'the layout has neither HANDLE_TABLE_ENTRY.ObjectPointerBits/GrantedAccessBits nor Object/GrantedAccess';
}

/** Level-0 pages of the table with the index of their first entry, in handle order. */
function lowLevelPages(vm: VirtualMemory, base: bigint, level: number, maxPages: number, log: IssueLog): { pages: [bigint, number][]; capHit: boolean } {
  const pages: [bigint, number][] = [];
  const seen = new Set<bigint>();
  let capHit = false;
  const visit = (page: bigint, depth: number, firstIndex: number): void => {
    if (capHit) return;
    if (!isKernelPointer(page) || (page & PAGE_MASK) % BigInt(HANDLE_TABLE_ENTRY_SIZE) !== 0n) {
      log.add('non-canonical', `a handle-table page pointer ${hex(page)} is not a kernel address`, page);
      return;
    }
    if (seen.has(page)) {
      log.add('cycle', `the handle table refers to the page at ${hex(page)} twice`, page);
      return;
    }
    seen.add(page);
    if (depth === 0) {
      if (pages.length >= maxPages) {
        capHit = true;
        log.add('cap', `the handle-table walk stopped at its cap of ${maxPages} entry pages`, page);
        return;
      }
      pages.push([page, firstIndex]);
      return;
    }
    const table = vm.read(page, HANDLE_TABLE_PAGE_SIZE);
    if (!table) {
      log.add('unreadable', `the level-${depth} handle-table page at ${hex(page)} is not in the dump`, page);
      return;
    }
    const span = depth === 1 ? LOWLEVEL_COUNT : LOWLEVEL_COUNT * MIDLEVEL_COUNT;
    for (let i = 0; i < MIDLEVEL_COUNT && !capHit; i++) {
      const next = table.readBigUInt64LE(i * POINTER_SIZE);
      if (next === 0n) continue;
      visit(next, depth - 1, firstIndex + i * span);
    }
  };
  visit(base, level, 0);
  return { pages, capHit };
}

const cid = (v: bigint | undefined): number | null => (v !== undefined && v % 4n === 0n && v < 1n << 32n ? Number(v) : null);

function processTarget(vm: VirtualMemory, layout: KernelLayout, eprocess: bigint): HandleTarget {
  const obj = readFields(vm, layout, eprocess, ['EPROCESS.UniqueProcessId', 'EPROCESS.ImageFileName']);
  const nameP = layout.fields['EPROCESS.ImageFileName'];
  const raw = nameP ? obj.bytes(nameP.offset, nameP.size) : undefined;
  return { pid: cid(fieldValue(obj, layout, 'EPROCESS.UniqueProcessId')), tid: null, name: raw ? decodeBytes(raw).text : null };
}

function threadTarget(vm: VirtualMemory, layout: KernelLayout, ethread: bigint): HandleTarget {
  const obj = readFields(vm, layout, ethread, ['ETHREAD.Cid.UniqueProcess', 'ETHREAD.Cid.UniqueThread']);
  const tcb = tcbOffset(layout);
  const procP = layout.fields['KTHREAD.Process'];
  const proc = procP ? vm.readU64(ethread + BigInt(tcb + procP.offset)) : undefined;
  const owner = proc !== undefined && isKernelPointer(proc) ? processTarget(vm, layout, proc) : null;
  return { pid: cid(fieldValue(obj, layout, 'ETHREAD.Cid.UniqueProcess')), tid: cid(fieldValue(obj, layout, 'ETHREAD.Cid.UniqueThread')), name: owner?.name ?? null };
}

function fileName(vm: VirtualMemory, layout: KernelLayout, fileObject: bigint): string | null {
  const f = layout.fields['FILE_OBJECT.FileName'];
  return f ? (readUnicodeString(vm, layout, fileObject + BigInt(f.offset))?.text ?? null) : null;
}

/** What a handle says about its object, shared by every handle on the same object. */
interface ObjectDescription {
  readonly type: string | null;
  readonly object: string;
  readonly target: HandleTarget | null;
  readonly name: string | null;
  readonly unreadable: readonly string[];
}

/** Objects described per walk, kept for reuse by later handles on the same object (bounded). */
export const OBJECT_CACHE_ENTRIES = 65536;

/** Decodes the object at `header` once: type, name, target. */
export function describeObject(vm: VirtualMemory, layout: KernelLayout, header: bigint, types: ObjectTypes | null): ObjectDescription {
  const bodyOff = layout.fields['OBJECT_HEADER.Body']?.offset;
  const body = bodyOff === undefined ? header : header + BigInt(bodyOff);
  const h = readObjectHeader(vm, layout, body, types);
  const unreadable = [...h.unreadable];
  if (!types) unreadable.push('type');
  let target: HandleTarget | null = null;
  let name = h.name;
  if (h.type === 'Process') {
    target = processTarget(vm, layout, body);
    name = null;
  } else if (h.type === 'Thread') {
    target = threadTarget(vm, layout, body);
    name = null;
  } else if (h.type === 'File') name = fileName(vm, layout, body) ?? h.name;
  return { type: h.type, object: hex(body), target, name, unreadable: unreadable.length ? [...new Set(unreadable)] : NOTHING_UNREADABLE };
}

/** Decoded rights shared between handles with the same type and mask (200,000 handles hold few distinct ones). */
class RightsCache {
  private readonly map = new Map<string, readonly string[]>();
  get(type: string | null, access: number): readonly string[] {
    const key = `${type}:${access}`;
    let r = this.map.get(key);
    if (!r) {
      r = Object.freeze(decodeRights(type, access));
      if (this.map.size < OBJECT_CACHE_ENTRIES) this.map.set(key, r);
    }
    return r;
  }
}

/** Decodes one used entry into what the report shows. */
export function describeHandle(vm: VirtualMemory, layout: KernelLayout, handle: number, header: bigint, access: number, types: ObjectTypes | null): HandleInfo {
  const o = describeObject(vm, layout, header, types);
  return { handle, type: o.type, grantedAccess: access, rights: decodeRights(o.type, access), object: o.object, target: o.target, name: o.name, unreadable: o.unreadable };
}

/** Every used entry of the process's handle table, in handle order. */
export function walkHandles(vm: VirtualMemory, layout: KernelLayout, eprocessVa: bigint, types: ObjectTypes | null, opts: HandleWalkOptions = {}): Walk<HandleInfo> {
  const cap = opts.maxHandles ?? DEFAULT_HANDLE_CAP;
  const maxPages = opts.maxPages ?? DEFAULT_HANDLE_PAGE_CAP;
  const log = new IssueLog();
  const items: HandleInfo[] = [];
  const decoder = entryDecoder(layout);
  const ot = layout.fields['EPROCESS.ObjectTable'];
  const tc = layout.fields['HANDLE_TABLE.TableCode'];
  if (typeof decoder === 'string' || !ot || !tc) {
    log.add('layout-missing', typeof decoder === 'string' ? decoder : 'the layout lacks EPROCESS.ObjectTable or HANDLE_TABLE.TableCode');
    return walkResult(items, log, cap, false);
  }
  const table = vm.readU64(eprocessVa + BigInt(ot.offset));
  if (table === undefined) {
    log.add('unreadable', `EPROCESS.ObjectTable of the process at ${hex(eprocessVa)} is not in the dump`, eprocessVa);
    return walkResult(items, log, cap, false);
  }
  // A process that has run down its handles (exited) has no table: nothing to list, nothing missing.
  if (table === 0n) return walkResult(items, log, cap, false);
  if (!isKernelPointer(table)) {
    log.add('non-canonical', `EPROCESS.ObjectTable ${hex(table)} is not a kernel address`, table);
    return walkResult(items, log, cap, false);
  }
  const ht = readFields(vm, layout, table, ['HANDLE_TABLE.TableCode', 'HANDLE_TABLE.NextHandleNeedingPool']);
  const code = fieldValue(ht, layout, 'HANDLE_TABLE.TableCode');
  if (code === undefined) {
    log.add('unreadable', `the HANDLE_TABLE at ${hex(table)} is not in the dump`, table);
    return walkResult(items, log, cap, false);
  }
  const { level, base } = splitTableCode(code);
  // No entry page allocated yet (TableCode 0): an empty table, nothing missing.
  if (base === 0n && level === 0) return walkResult(items, log, cap, false);
  if (level > MAX_TABLE_LEVEL) {
    log.add('implausible', `TableCode ${hex(code)} names level ${level}; tables have levels 0..${MAX_TABLE_LEVEL}`, table);
    return walkResult(items, log, cap, false);
  }
  // Entries past NextHandleNeedingPool were never allocated; a damaged value only loses the bound.
  const next = fieldValue(ht, layout, 'HANDLE_TABLE.NextHandleNeedingPool');
  const limitIndex = next !== undefined && next > 0n && next % 4n === 0n ? Number(next / 4n) : Infinity;
  const { pages, capHit: pageCap } = lowLevelPages(vm, base, level, maxPages, log);
  let handleCap = false;
  const objects = new Map<bigint, ObjectDescription>();
  const rights = new RightsCache();
  for (const [page, first] of pages) {
    if (handleCap || first >= limitIndex) break;
    const bytes = vm.read(page, HANDLE_TABLE_PAGE_SIZE);
    if (!bytes) {
      log.add('unreadable', `the handle-table entry page at ${hex(page)} (handles ${hex(handleValue(first))}..) is not in the dump`, page);
      continue;
    }
    for (let i = 0; i < LOWLEVEL_COUNT; i++) {
      const d = decoder(bytes, i * HANDLE_TABLE_ENTRY_SIZE);
      if (!d) continue;
      if (items.length >= cap) {
        handleCap = true;
        log.add('cap', `the handle walk stopped at its cap of ${cap} handles`, page);
        break;
      }
      if (!isKernelPointer(d.header)) {
        log.add('non-canonical', `handle ${hex(handleValue(first + i))} points at ${hex(d.header)}, not a kernel address`, page + BigInt(i * HANDLE_TABLE_ENTRY_SIZE));
        continue;
      }
      let o = objects.get(d.header);
      if (!o) {
        o = describeObject(vm, layout, d.header, types);
        if (objects.size < OBJECT_CACHE_ENTRIES) objects.set(d.header, o);
      }
      items.push({ handle: handleValue(first + i), type: o.type, grantedAccess: d.access, rights: rights.get(o.type, d.access), object: o.object, target: o.target, name: o.name, unreadable: o.unreadable });
    }
  }
  return walkResult(items, log, cap, pageCap || handleCap);
}
