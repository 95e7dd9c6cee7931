// Dump seeds: the real triage dumps, and small crash dumps / raw images built here around a
// minimal x64 machine (4-level page tables with a self-map, a large page, transition, prototype
// and page-file PTEs, and a circular LIST_ENTRY chain), so that paging and list code is reached.
// Synthetic samples from samples/ join these when the generator is available (see targets.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBitmap, buildFull, buildRaw, buildRdmp, patternPage, type PageMap } from '../test/helpers/dump-builders.ts';
import type { Field, Seed } from './mutators.ts';
import { REAL } from './seeds.ts';
import { EXPECTED_LOW_STUB_JMP, LOW_STUB_CR3, LOW_STUB_KERNEL_ENTRY } from '../src/dump/low-stub.ts';

const PAGE = 4096;
const DTB_PFN = 0x1ad; // the header builders' default DTB 0x1ad000
const P = 0x63n; // present, writable, accessed, dirty
const KERNEL_PML4 = 0x1f0; // VA 0xfffff800'00000000
const SELF_MAP = 0x1ed;

/** The machine: page tables, a kernel list, user pages, and pattern pages. */
export function miniMachine(): PageMap {
  const pages: PageMap = new Map();
  const page = (pfn: number) => {
    let p = pages.get(pfn);
    if (!p) pages.set(pfn, (p = Buffer.alloc(PAGE)));
    return p;
  };
  const entry = (table: number, idx: number, v: bigint) => page(table).writeBigUInt64LE(v, idx * 8);
  const pml4 = DTB_PFN;
  entry(pml4, SELF_MAP, (BigInt(pml4) << 12n) | P);
  // Kernel: PML4[0x1f0] → PDPT 0x100 → PD 0x101: PD[0] → PT 0x102 (4 KiB pages 0x110..0x12f), PD[1] a 2 MiB page at pfn 0x200.
  entry(pml4, KERNEL_PML4, (0x100n << 12n) | P);
  entry(0x100, 0, (0x101n << 12n) | P);
  entry(0x101, 0, (0x102n << 12n) | P);
  entry(0x101, 1, (0x200n << 12n) | P | 0x80n);
  for (let i = 0; i < 0x20; i++) entry(0x102, i, (BigInt(0x110 + i) << 12n) | P | (1n << 63n));
  // User: PML4[0] → PDPT 0x103 → PD 0x104 → PT 0x105: present, transition, prototype, page-file, demand-zero entries.
  entry(pml4, 0, (0x103n << 12n) | P | 4n);
  entry(0x103, 0, (0x104n << 12n) | P | 4n);
  entry(0x104, 0, (0x105n << 12n) | P | 4n);
  for (let i = 0; i < 0x10; i++) entry(0x105, i, (BigInt(0x130 + i) << 12n) | P | 4n);
  entry(0x105, 0x10, (0x140n << 12n) | 0x800n | 0x80n); // transition
  entry(0x105, 0x11, 0xfffffffff0000400n); // prototype
  entry(0x105, 0x12, 0x0000000100000080n); // page file
  entry(0x105, 0x13, 0x80n); // demand zero with protection
  // A circular doubly-linked list of 8 entries at 0x100 within kernel pages 0x110..0x117.
  const kva = (i: number) => 0xfffff80000000000n + BigInt(i) * 0x1000n + 0x100n;
  for (let i = 0; i < 8; i++) {
    const p = page(0x110 + i);
    p.writeBigUInt64LE(kva((i + 1) % 8), 0x100);
    p.writeBigUInt64LE(kva((i + 7) % 8), 0x108);
    p.write('System\0', 0x200, 'latin1');
  }
  for (const pfn of [...Array(0x18).keys()].map((i) => 0x118 + i)) pages.set(pfn, patternPage(pfn));
  for (let i = 0; i < 0x10; i++) pages.set(0x130 + i, patternPage(0x130 + i, 7));
  pages.set(0x140, patternPage(0x140, 9));
  for (let i = 0; i < 0x200; i += 0x40) pages.set(0x200 + i, patternPage(0x200 + i, 3)); // parts of the large page
  for (let i = 0; i < 0x10; i++) pages.set(i, patternPage(i, 1)); // low memory
  return pages;
}

/** Offsets of qwords that look like canonical kernel pointers and like present PTEs. */
export function scanQwords(b: Buffer, maxPfn: number, from = 0): { pointers: number[]; ptes: number[] } {
  const pointers: number[] = [];
  const ptes: number[] = [];
  for (let at = from - (from % 8); at + 8 <= b.length; at += 8) {
    const hi = b.readUInt32LE(at + 4);
    const lo = b.readUInt32LE(at);
    if (hi === 0x45474150 && lo === 0x45474150) continue; // PAGE filler
    if (hi >>> 15 === 0x1ffff && hi !== 0xffffffff) {
      if (pointers.length < 50000) pointers.push(at);
    } else if (lo & 1 && (hi & 0x7ff00000) === 0 && (lo & 0x60) === 0x60) {
      const pfn = (hi & 0xfffff) * 0x100000 + (lo >>> 12);
      if (pfn > 0 && pfn < maxPfn && ptes.length < 50000) ptes.push(at);
    }
  }
  return { pointers, ptes };
}

function headerFields(): Field[] {
  const f: Field[] = [
    { at: 0x8, size: 4, name: 'MajorVersion' },
    { at: 0xc, size: 4, name: 'MinorVersion' },
    { at: 0x10, size: 8, name: 'DirectoryTableBase' },
    { at: 0x18, size: 8, name: 'PfnDataBase' },
    { at: 0x20, size: 8, name: 'PsLoadedModuleList' },
    { at: 0x28, size: 8, name: 'PsActiveProcessHead' },
    { at: 0x30, size: 4, name: 'MachineImageType' },
    { at: 0x34, size: 4, name: 'NumberProcessors' },
    { at: 0x80, size: 8, name: 'KdDebuggerDataBlock' },
    { at: 0x88, size: 4, name: 'NumberOfRuns' },
    { at: 0x90, size: 8, name: 'NumberOfPages' },
    { at: 0xf98, size: 4, name: 'DumpType' },
    { at: 0xfa0, size: 8, name: 'RequiredDumpSpace' },
    { at: 0xfa8, size: 8, name: 'SystemTime' },
    { at: 0x1030, size: 8, name: 'SystemUpTime' },
  ];
  for (let i = 0; i < 8; i++) f.push({ at: 0x98 + i * 16, size: 8, name: `Run[${i}].BasePage` }, { at: 0xa0 + i * 16, size: 8, name: `Run[${i}].PageCount` });
  return f;
}

const HEADER_HOT: Array<[number, number]> = [
  [0, 0x120],
  [0xf98, 0x18],
];

function withScan(name: string, data: Buffer, fields: Field[], hot: Array<[number, number]>, bodyFrom: number, maxPfn: number): Seed {
  const { pointers, ptes } = scanQwords(data, maxPfn, bodyFrom);
  // Pages holding PTEs or pointers are where the walkers look.
  const hotPages = new Set<number>();
  for (const at of [...ptes, ...pointers]) hotPages.add(Math.floor(at / PAGE));
  const h = [...hot, ...[...hotPages].slice(0, 256).map((p) => [p * PAGE, PAGE] as [number, number])];
  return { name, data, fields, hot: h, pointers, ptes };
}

export function crashFullSeeds(): Seed[] {
  const pages = miniMachine();
  const data = buildFull(pages);
  return [withScan('mini-full.dmp', data, headerFields(), HEADER_HOT, 0x2000, 0x400)];
}

export function crashBitmapSeeds(): Seed[] {
  const pages = miniMachine();
  const out: Seed[] = [];
  for (const [dumpType, sig] of [[5, 'FDMP'], [6, 'SDMP']] as const) {
    const data = buildBitmap(pages, { dumpType, signature: sig });
    const bitmapBytes = Number(data.readBigUInt64LE(0x2030)) / 8;
    const fields = [
      ...headerFields(),
      { at: 0x2000, size: 4, name: 'Bitmap.Signature' } as Field,
      { at: 0x2004, size: 4, name: 'Bitmap.ValidDump' } as Field,
      { at: 0x2020, size: 8, name: 'Bitmap.FirstPage' } as Field,
      { at: 0x2028, size: 8, name: 'Bitmap.TotalPresentPages' } as Field,
      { at: 0x2030, size: 8, name: 'Bitmap.Pages' } as Field,
    ];
    const first = Number(data.readBigUInt64LE(0x2020));
    out.push(withScan(`mini-bitmap-${dumpType}.dmp`, data, fields, [...HEADER_HOT, [0x2000, 0x38 + Math.ceil(bitmapBytes)]], first, 0x400));
  }
  return out;
}

export function crashRdmpSeeds(): Seed[] {
  const pages = miniMachine();
  const out: Seed[] = [];
  for (const dumpType of [8, 0xa] as const) {
    const data = buildRdmp(pages, { dumpType });
    const first = Number(data.readBigUInt64LE(0x2018));
    const fields: Field[] = [
      ...headerFields(),
      { at: 0x2000, size: 4, name: 'RDMP.Marker' },
      { at: 0x2004, size: 4, name: 'RDMP.Signature' },
      { at: 0x2010, size: 8, name: 'RDMP.MetadataSize' },
      { at: 0x2018, size: 8, name: 'RDMP.FirstPageOffset' },
      { at: 0x2020, size: 4, name: 'RDMP.NumberOfRanges' },
      { at: 0x2028, size: 8, name: 'RDMP.TotalNumberOfPages' },
    ];
    for (let i = 0; i < 12; i++) fields.push({ at: 0x2030 + i * 16, size: 8, name: `RDMP.Range[${i}].Pfn` }, { at: 0x2038 + i * 16, size: 8, name: `RDMP.Range[${i}].Count` });
    out.push(withScan(`mini-rdmp-${dumpType}.dmp`, data, fields, [...HEADER_HOT, [0x2000, first - 0x2000]], first, 0x400));
  }
  return out;
}

export function rawSeeds(): Seed[] {
  const pages = miniMachine();
  // Windows' low stub (PROCESSOR_START_BLOCK) at page 1 so that raw-image kernel discovery has a CR3 to find.
  const stub = Buffer.alloc(PAGE);
  stub.writeBigUInt64LE(EXPECTED_LOW_STUB_JMP, 0);
  stub.writeBigUInt64LE(0xfffff80000000000n, LOW_STUB_KERNEL_ENTRY);
  stub.writeBigUInt64LE(BigInt(DTB_PFN * PAGE), LOW_STUB_CR3);
  pages.set(1, stub);
  const data = buildRaw(pages, 0x400);
  const fields: Field[] = [
    { at: PAGE, size: 8, name: 'LowStub.Jmp' },
    { at: PAGE + LOW_STUB_KERNEL_ENTRY, size: 8, name: 'LowStub.KernelEntry' },
    { at: PAGE + LOW_STUB_CR3, size: 8, name: 'LowStub.Cr3' },
  ];
  return [withScan('mini-raw.bin', data, fields, [[PAGE, 0x100]], 0, 0x400)];
}

export function triageSeeds(): Seed[] {
  const out: Seed[] = [];
  for (const name of ['triage_x64.dmp', 'triage_arm64.dmp']) {
    const f = join(REAL, name);
    if (!existsSync(f)) continue;
    const data = readFileSync(f);
    const fields: Field[] = [...headerFields()];
    for (let o = 0; o < 0x80; o += 4) fields.push({ at: 0x2000 + o, size: o === 0x48 || o === 0x60 ? 8 : 4, name: `TRIAGE_DUMP64+0x${o.toString(16)}` });
    const hot: Array<[number, number]> = [...HEADER_HOT, [0x2000, 0x80]];
    // Driver list entries: name offset, DllBase, SizeOfImage.
    const drvOff = data.readUInt32LE(0x2030);
    const drvCount = data.readUInt32LE(0x2034);
    for (let i = 0; i < Math.min(drvCount, 24) && drvOff + (i + 1) * 144 <= data.length; i++) {
      const e = drvOff + i * 144;
      fields.push({ at: e, size: 4, name: `Driver[${i}].NameOffset` }, { at: e + 0x38, size: 8, name: `Driver[${i}].DllBase` }, { at: e + 0x48, size: 4, name: `Driver[${i}].SizeOfImage` });
      const nameOff = data.readUInt32LE(e);
      if (nameOff + 4 <= data.length) fields.push({ at: nameOff, size: 4, name: `Driver[${i}].NameLength` });
    }
    hot.push([drvOff, Math.min(drvCount, 24) * 144]);
    const dbOff = data.readUInt32LE(0x2078);
    const dbCount = data.readUInt32LE(0x207c);
    for (let i = 0; i < Math.min(dbCount, 16) && dbOff + (i + 1) * 16 <= data.length; i++) {
      fields.push({ at: dbOff + i * 16, size: 8, name: `DataBlock[${i}].Address` }, { at: dbOff + i * 16 + 8, size: 4, name: `DataBlock[${i}].Offset` }, { at: dbOff + i * 16 + 12, size: 4, name: `DataBlock[${i}].Size` });
    }
    const { pointers } = scanQwords(data, 0, 0x2000);
    out.push({ name, data, fields, hot, pointers });
  }
  return out;
}
