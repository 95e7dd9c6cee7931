// EPROCESS.ObjectTable: the HANDLE_TABLE header (built with the process) and its entries (built once
// every object exists): TableCode level 0 (one page of HANDLE_TABLE_ENTRY), 1 (a page of pointers to
// such pages) or 2 (pointers to level-1 pages). Entries are encoded as Windows 8.1+ x64 does: the
// OBJECT_HEADER address >> 4 in ObjectPointerBits, Unlocked set, the access mask in GrantedAccessBits.
// Entry 0 of every level-0 page is never a handle; handle value = entry index × 4.
import { GRANTED_ACCESS_MASK } from '../../src/ntos/access-rights.ts';
import { HANDLE_TABLE_ENTRY_SIZE, HANDLE_TABLE_PAGE_SIZE, LOWLEVEL_COUNT, MIDLEVEL_COUNT, handleValue } from '../../src/ntos/handle-table-format.ts';
import { POOL_HEADER_BYTES } from '../../src/ntos/object-header.ts';
import { StructWriter } from '../structs.ts';
import type { KernelCtx } from './context.ts';
import type { ObjectSpace } from './object.ts';

/** What one handle refers to, for the entry and the ground truth. */
export interface HandleModel {
  readonly handle: number;
  readonly type: string;
  readonly grantedAccess: number;
  /** Object body VA. */
  readonly object: bigint;
  readonly objectHeader: bigint;
  readonly target: { pid: number; tid: number | null; name: string | null } | null;
  readonly name: string | null;
}

export type HandleTarget = Omit<HandleModel, 'handle'>;

/** ObjectPointerBits holds header VA bits 4..47. */
const OBJECT_POINTER_SHIFT = 4n;
const OBJECT_POINTER_BITS = 44n;
/** Usable entries per level-0 page (entry 0 is reserved). */
const ENTRIES_PER_PAGE = LOWLEVEL_COUNT - 1;

/** Step (with the process): the HANDLE_TABLE header; returns its VA and writer. */
export function buildHandleTable(k: KernelCtx, o: ObjectSpace, x: { pid: number; quotaProcess: bigint; urng: { int(lo: number, hi: number): number } }): { va: bigint; w: StructWriter } {
  const { layout } = k;
  const ht = o.pool.alloc(layout, layout.size('_HANDLE_TABLE'), 'Obtb', 'large');
  const va = ht.headerVa + BigInt(POOL_HEADER_BYTES);
  const hw = new StructWriter(layout, '_HANDLE_TABLE', ht.buf, POOL_HEADER_BYTES);
  hw.set('NextHandleNeedingPool', 0x400 * x.urng.int(1, 8), true);
  hw.set('QuotaProcess', x.quotaProcess, true);
  hw.set('UniqueProcessId', x.pid, true);
  const hl = layout.field('_HANDLE_TABLE', 'HandleTableList');
  if (hl) {
    hw.set('HandleTableList.Flink', va + BigInt(hl.offset));
    hw.set('HandleTableList.Blink', va + BigInt(hl.offset));
  }
  return { va, w: hw };
}

/** The table level `n` handles need. */
export function levelFor(n: number): number {
  if (n <= ENTRIES_PER_PAGE) return 0;
  if (n <= ENTRIES_PER_PAGE * MIDLEVEL_COUNT) return 1;
  return 2;
}

/** Step (after every object exists): the entry pages and TableCode; returns the handles with their values. */
export function fillHandleTable(k: KernelCtx, o: ObjectSpace, table: StructWriter, targets: readonly HandleTarget[]): HandleModel[] {
  const { layout } = k;
  const pageCount = Math.max(1, Math.ceil(targets.length / ENTRIES_PER_PAGE));
  const level = levelFor(targets.length);
  const leafVas: bigint[] = [];
  const out: HandleModel[] = [];
  for (let p = 0; p < pageCount; p++) {
    const va = o.allocPages(1);
    const page = Buffer.alloc(HANDLE_TABLE_PAGE_SIZE);
    for (let e = 1; e <= ENTRIES_PER_PAGE; e++) {
      const j = p * ENTRIES_PER_PAGE + e - 1;
      if (j >= targets.length) break;
      const t = targets[j];
      const w = new StructWriter(layout, '_HANDLE_TABLE_ENTRY', page, e * HANDLE_TABLE_ENTRY_SIZE);
      w.set('ObjectPointerBits', (t.objectHeader >> OBJECT_POINTER_SHIFT) & ((1n << OBJECT_POINTER_BITS) - 1n));
      w.set('Unlocked', 1);
      w.set('GrantedAccessBits', t.grantedAccess & GRANTED_ACCESS_MASK);
      out.push({ handle: handleValue(p * LOWLEVEL_COUNT + e), ...t });
    }
    k.kwrite(va, page);
    leafVas.push(va);
  }
  const pointerPage = (vas: readonly bigint[]): bigint => {
    const va = o.allocPages(1);
    const page = Buffer.alloc(HANDLE_TABLE_PAGE_SIZE);
    vas.forEach((v, i) => page.writeBigUInt64LE(v, 8 * i));
    k.kwrite(va, page);
    return va;
  };
  let top: bigint;
  if (level === 0) top = leafVas[0];
  else if (level === 1) top = pointerPage(leafVas);
  else {
    const mids: bigint[] = [];
    for (let i = 0; i < leafVas.length; i += MIDLEVEL_COUNT) mids.push(pointerPage(leafVas.slice(i, i + MIDLEVEL_COUNT)));
    top = pointerPage(mids);
  }
  table.set('TableCode', top | BigInt(level));
  table.set('NextHandleNeedingPool', handleValue(pageCount * LOWLEVEL_COUNT), true);
  return out;
}
