// PsLoadedModuleList: KLDR_DATA_TABLE_ENTRY records (as _LDR_DATA_TABLE_ENTRY) in load order.
import { POOL_HEADER_BYTES } from '../../src/ntos/object-header.ts';
import { StructWriter, utf16 } from '../structs.ts';
import { align, type KernelCtx } from './context.ts';
import { unicodeString, type ObjectSpace } from './object.ts';
import type { ModuleRange } from './address-map.ts';

/** Drivers every generated machine loads after ntoskrnl.exe and hal.dll: [name, size]. */
const DEFAULT_DRIVERS: readonly (readonly [string, number])[] = [
  ['kdcom.dll', 0xd000],
  ['CI.dll', 0xf8000],
  ['msrpc.sys', 0x64000],
  ['Ntfs.sys', 0x2fc000],
  ['tcpip.sys', 0x2e5000],
];
/** Drivers are placed from here above the kernel base, each on a 1 MiB boundary after the previous one. */
const DRIVER_AREA = 0x10000000n;
const DRIVER_ALIGN = 0x100000;

/** LDR_DATA_TABLE_ENTRY.Flags of a loaded driver image. */
const LDRP_DRIVER_FLAGS = 0x49104000;

/** Step: the drivers the kernel has loaded (ntoskrnl.exe first) and the list head. */
export function buildLoadedModules(k: KernelCtx, o: ObjectSpace): { head: bigint; modules: ModuleRange[] } {
  const { layout, rng } = k;
  const head = k.sym('PsLoadedModuleList');
  const ldrSize = layout.size('_LDR_DATA_TABLE_ENTRY');
  const drivers = [
    ...DEFAULT_DRIVERS.map(([name, size]) => ({ name, size, path: `\\SystemRoot\\system32\\${name.endsWith('.sys') ? 'drivers\\' : ''}${name}` })),
    ...(k.scenario.drivers ?? []).map((d) => ({ name: d.name, size: d.size ?? 0x20000, path: d.path })),
  ];
  const modules: ModuleRange[] = [
    { path: '\\SystemRoot\\system32\\ntoskrnl.exe', name: 'ntoskrnl.exe', base: k.kernelBase, size: k.sizeOfImage },
    { path: '\\SystemRoot\\system32\\hal.dll', name: 'hal.dll', base: k.kernelBase - 0x400000n * BigInt(rng.int(4, 64)), size: 0x69000 },
  ];
  let next = k.kernelBase + DRIVER_AREA;
  for (const d of drivers) {
    modules.push({ path: d.path, name: d.name, base: next, size: d.size });
    next += BigInt(align(d.size, DRIVER_ALIGN));
  }
  const entries = modules.map((m) => {
    const full = Buffer.concat([utf16(m.path), Buffer.alloc(2)]);
    const base = Buffer.concat([utf16(m.name), Buffer.alloc(2)]);
    const b = o.pool.alloc(layout, ldrSize + full.length + base.length, 'MmLd', 'large');
    const va = b.headerVa + BigInt(POOL_HEADER_BYTES);
    const w = new StructWriter(layout, '_LDR_DATA_TABLE_ENTRY', b.buf, POOL_HEADER_BYTES);
    full.copy(b.buf, POOL_HEADER_BYTES + ldrSize);
    base.copy(b.buf, POOL_HEADER_BYTES + ldrSize + full.length);
    w.set('DllBase', m.base);
    w.set('EntryPoint', m.base + 0x3b0000n + BigInt(rng.int(0, 0x1000)) * 16n, true);
    w.set('SizeOfImage', m.size);
    unicodeString(w, 'FullDllName', va + BigInt(ldrSize), m.path);
    unicodeString(w, 'BaseDllName', va + BigInt(ldrSize + full.length), m.name);
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
