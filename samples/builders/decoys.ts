// Decoys: 'Proc' tags that must not become processes (a tag in random bytes, a valid-looking body
// behind a too-small pool block, a complete allocation with an impossible PID, and a copy of the
// latter in a physical page no mapping reaches).
import { StructWriter } from '../structs.ts';
import { PAGE } from '../memory.ts';
import { filetime, type KernelCtx } from './context.ts';
import type { ObjectSpace } from './object.ts';
import { PROCESS_TYPE_INDEX } from './object-types.ts';

export interface Decoy {
  readonly kind: 'tag-only' | 'small-block' | 'bad-pid' | 'physical-bad-pid';
  readonly va: bigint | null;
  readonly pa: number;
  readonly note: string;
}

/** Step (before the pool is flushed): the virtual decoys. */
export function buildDecoys(k: KernelCtx, o: ObjectSpace): Decoy[] {
  const decoys: Decoy[] = [];
  if (!k.scenario.decoys) return decoys;
  const { layout, mem } = k;
  const epSize = layout.size('_EPROCESS');
  const drng = k.rng.fork('decoys');
  const fakeBody = (pid: number, name: string) => {
    const b = Buffer.alloc(epSize);
    const w = new StructWriter(layout, '_EPROCESS', b, 0);
    w.set('Pcb.DirectoryTableBase', BigInt(mem.alloc('kernel')) * 0x1000n);
    w.set('UniqueProcessId', pid);
    w.set('InheritedFromUniqueProcessId', 4188);
    const n = Buffer.alloc(15);
    Buffer.from(name, 'latin1').copy(n);
    w.bytes('ImageFileName', n);
    w.set('CreateTime', filetime(k.bootMs + 4000_000));
    w.set('ThreadListHead.Flink', k.poolBase + 0x123450n);
    w.set('ThreadListHead.Blink', k.poolBase + 0x123450n);
    w.set('ActiveProcessLinks.Flink', k.poolBase + 0x5550n);
    w.set('ActiveProcessLinks.Blink', k.poolBase + 0x5550n);
    return b;
  };
  // (1) a tag in random bytes, without valid headers around it.
  {
    const b = o.pool.alloc(layout, 0x300, 'Frag', 'large');
    drng.fill(b.buf);
    b.buf.write('Proc', 0x94, 'latin1');
    decoys.push({ kind: 'tag-only', va: b.headerVa + 0x90n, pa: 0, note: "'Proc' inside random bytes; no pool or object header" });
  }
  // (2) a well-formed process body behind a POOL_HEADER whose BlockSize is far too small.
  {
    const obj = o.allocObject(epSize, 'Proc', PROCESS_TYPE_INDEX, 'large');
    obj.block.buf.writeUInt16LE(0x10 | (2 << 8), 2); // BlockSize 0x10 (256 bytes), PoolType 2
    fakeBody(9332, 'svchost.exe').copy(obj.block.buf, obj.bodyOff);
    decoys.push({ kind: 'small-block', va: obj.block.headerVa, pa: 0, note: 'valid-looking EPROCESS but BlockSize 0x10 < sizeof(EPROCESS)' });
  }
  // (3) a complete allocation whose PID is not a multiple of 4.
  {
    const obj = o.allocObject(epSize, 'Proc', PROCESS_TYPE_INDEX, 'large');
    fakeBody(0x1a3b, 'svch0st.exe').copy(obj.block.buf, obj.bodyOff);
    decoys.push({ kind: 'bad-pid', va: obj.block.headerVa, pa: 0, note: 'pool and object headers valid; PID 0x1a3b is not a multiple of 4' });
  }
  return decoys;
}

/** Step (after the flush): physical addresses of the decoys, and the bad-PID decoy copied into an unmapped page. */
export function placeDecoys(k: KernelCtx, o: ObjectSpace, decoys: Decoy[]): void {
  for (const d of decoys) (d as { pa: number }).pa = k.system.translate(d.va!)!;
  if (!k.scenario.decoys) return;
  const src = decoys.find((d) => d.kind === 'bad-pid')!;
  const pfn = k.mem.alloc('kernel');
  const page = k.mem.page(pfn);
  k.filler.write(pfn, page, 0);
  const blk = o.pool.blocks.find((b) => b.headerVa === src.va)!;
  const at = 0x200;
  blk.buf.copy(page, at, 0, Math.min(blk.buf.length, PAGE - at));
  decoys.push({ kind: 'physical-bad-pid', va: null, pa: pfn * PAGE + at, note: 'copy of the bad-PID decoy in an unmapped page' });
}
