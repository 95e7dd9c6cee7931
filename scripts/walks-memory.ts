// Heap held by the walk results of one process with 200,000 handles and 20,000 threads (the issue's
// hostile-input size), on the walk fixture. Prints the figures; run with --expose-gc for exact numbers:
//
//   node --expose-gc --import tsx scripts/walks-memory.ts
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import { walkHandles } from '../src/ntos/handles.ts';
import { loadObjectTypes } from '../src/ntos/object-header.ts';
import { walkThreads } from '../src/ntos/threads.ts';
import { KBASE, WalkFixture } from '../test/helpers/walk-fixture.ts';

const HANDLES = 200_000;
const THREADS = 20_000;
const layout = builtinByPdb('606FF669409B00F7FC8C61A9C1670129', 1)!;
const fx = new WalkFixture(layout);
const p = fx.addProcess({ pid: 5000, ppid: 4, name: 'many.exe' });
const others = Array.from({ length: 64 }, (_, i) => fx.addProcess({ pid: 8 + 4 * i, ppid: 4, name: `t${i}.exe` }));
const events = Array.from({ length: 64 }, (_, i) => fx.object('Event', 0x18, `Global\\E${i}`));
const pages = Math.ceil(HANDLES / 256);
const top = fx.kalloc(4096);
for (let j = 0; j * 512 < pages; j++) {
  const mid = fx.kalloc(4096);
  fx.writeU64(top + BigInt(j * 8), mid);
  for (let i = 0; i < 512 && j * 512 + i < pages; i++) {
    const n = j * 512 + i;
    const lo = fx.kalloc(4096);
    const page = Buffer.concat(Array.from({ length: 256 }, (_, k) => fx.entryBytes(k % 2 ? events[(n + k) % 64] : others[(n + k) % 64].va, 0x1fffff)));
    fx.m.writeVirt(fx.m.kernelDtb, lo, page);
    fx.writeU64(mid + BigInt(i * 8), lo);
  }
}
const table = fx.kalloc(0x80);
fx.w(table, 'HANDLE_TABLE.TableCode', top | 2n);
fx.w(table, 'HANDLE_TABLE.NextHandleNeedingPool', pages * 256 * 4);
fx.w(p.va, 'EPROCESS.ObjectTable', table);
// Threads: packed LIST_ENTRYs (each "ETHREAD" overlaps its neighbours), enough for the list walk and reads.
const entryOff = BigInt(layout.fields['ETHREAD.ThreadListEntry']!.offset);
const region = fx.kalloc(THREADS * 16 + Number(entryOff) + 0x1000) + entryOff;
const head = p.va + BigInt(layout.fields['EPROCESS.ThreadListHead']!.offset);
const buf = Buffer.alloc(THREADS * 16);
for (let i = 0; i < THREADS; i++) {
  buf.writeBigUInt64LE(i + 1 < THREADS ? region + BigInt((i + 1) * 16) : head, i * 16);
  buf.writeBigUInt64LE(i === 0 ? head : region + BigInt((i - 1) * 16), i * 16 + 8);
}
fx.m.writeVirt(fx.m.kernelDtb, region, buf);
fx.setLinks(head, region, region + BigInt((THREADS - 1) * 16));

const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  return process.memoryUsage().heapUsed;
};
const types = loadObjectTypes(fx.vm, layout, KBASE).types;
const h0 = heap();
const handles = walkHandles(fx.vm, layout, p.va, types);
const h1 = heap();
const threads = walkThreads(fx.vm, layout, p.va);
const h2 = heap();
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
console.log(`handles: ${handles.items.length} listed (partial ${handles.partial}), results hold ${mib(h1 - h0)} MiB of heap (${((h1 - h0) / handles.items.length).toFixed(0)} B each)`);
console.log(`threads: ${threads.items.length} listed (partial ${threads.partial}), results hold ${mib(h2 - h1)} MiB of heap (${((h2 - h1) / threads.items.length).toFixed(0)} B each)`);
console.log(`process RSS ${mib(process.memoryUsage().rss)} MiB (fixture memory included)${gc ? '' : '; run with --expose-gc for exact heap figures'}`);
