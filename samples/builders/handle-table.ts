// EPROCESS.ObjectTable: the HANDLE_TABLE header.
import { POOL_HEADER_BYTES } from '../../src/ntos/object-header.ts';
import { StructWriter } from '../structs.ts';
import type { KernelCtx } from './context.ts';
import type { ObjectSpace } from './object.ts';

/** Step: a process's handle table; returns its VA. */
export function buildHandleTable(k: KernelCtx, o: ObjectSpace, x: { pid: number; quotaProcess: bigint; urng: { int(lo: number, hi: number): number } }): bigint {
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
  return va;
}
