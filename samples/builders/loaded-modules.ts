// PsLoadedModuleList: KLDR_DATA_TABLE_ENTRY records (as _LDR_DATA_TABLE_ENTRY) in load order.
import { POOL_HEADER_BYTES } from '../../src/ntos/object-header.ts';
import { StructWriter, utf16 } from '../structs.ts';
import type { KernelCtx } from './context.ts';
import { unicodeString, type ObjectSpace } from './object.ts';

export interface LoadedModule {
  readonly fullName: string;
  readonly baseName: string;
  readonly base: bigint;
  readonly size: number;
}

/** LDR_DATA_TABLE_ENTRY.Flags of a loaded driver image. */
const LDRP_DRIVER_FLAGS = 0x49104000;

/** Step: the drivers the kernel has loaded (ntoskrnl.exe first) and the list head. */
export function buildLoadedModules(k: KernelCtx, o: ObjectSpace): { head: bigint; modules: LoadedModule[] } {
  const { layout, rng } = k;
  const head = k.sym('PsLoadedModuleList');
  const ldrSize = layout.size('_LDR_DATA_TABLE_ENTRY');
  const modules: LoadedModule[] = [
    { fullName: '\\SystemRoot\\system32\\ntoskrnl.exe', baseName: 'ntoskrnl.exe', base: k.kernelBase, size: k.sizeOfImage },
    { fullName: '\\SystemRoot\\system32\\hal.dll', baseName: 'hal.dll', base: k.kernelBase - 0x400000n * BigInt(rng.int(4, 64)), size: 0x69000 },
  ];
  const entries = modules.map((m) => {
    const full = Buffer.concat([utf16(m.fullName), Buffer.alloc(2)]);
    const base = Buffer.concat([utf16(m.baseName), Buffer.alloc(2)]);
    const b = o.pool.alloc(layout, ldrSize + full.length + base.length, 'MmLd', 'large');
    const va = b.headerVa + BigInt(POOL_HEADER_BYTES);
    const w = new StructWriter(layout, '_LDR_DATA_TABLE_ENTRY', b.buf, POOL_HEADER_BYTES);
    full.copy(b.buf, POOL_HEADER_BYTES + ldrSize);
    base.copy(b.buf, POOL_HEADER_BYTES + ldrSize + full.length);
    w.set('DllBase', m.base);
    w.set('EntryPoint', m.base + 0x3b0000n + BigInt(rng.int(0, 0x1000)) * 16n, true);
    w.set('SizeOfImage', m.size);
    unicodeString(w, 'FullDllName', va + BigInt(ldrSize), m.fullName);
    unicodeString(w, 'BaseDllName', va + BigInt(ldrSize + full.length), m.baseName);
    w.set('Flags', LDRP_DRIVER_FLAGS, true);
    w.set('ObsoleteLoadCount', 1, true);
    w.set('LoadCount', 1, true);
    return { va, w };
  });
  const lo = layout.off('_LDR_DATA_TABLE_ENTRY', 'InLoadOrderLinks');
  entries.forEach((m, i) => {
    m.w.set('InLoadOrderLinks.Flink', i + 1 < entries.length ? entries[i + 1].va + BigInt(lo) : head);
    m.w.set('InLoadOrderLinks.Blink', i > 0 ? entries[i - 1].va + BigInt(lo) : head);
  });
  const mh = Buffer.alloc(16);
  mh.writeBigUInt64LE(entries[0].va + BigInt(lo), 0);
  mh.writeBigUInt64LE(entries[entries.length - 1].va + BigInt(lo), 8);
  k.kwrite(head, mh);
  return { head, modules };
}
