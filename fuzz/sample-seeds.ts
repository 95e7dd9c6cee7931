// Seeds from the synthetic-dump generator (samples/), cut down for speed: a 16 MiB machine is
// built, then only its meaningful pages (page tables, kernel image and globals, pool blocks with
// the processes, user pages; not the filler background) are stored, behind the generator's own
// DUMP_HEADER64. A seed is 1–3 MiB instead of 16 MiB and still analyses end to end. The machine's
// model says where every EPROCESS, pool header and page table is, so mutators aim at list links,
// PIDs, names, protection bytes, DTBs and PTEs.
import { buildBitmap, buildFull, buildRdmp, type PageMap } from '../test/helpers/dump-builders.ts';
import { machineFor } from '../samples/generate.ts';
import type { Machine } from '../samples/machine.ts';
import { planForm, type Form } from '../samples/writers.ts';
import { scanQwords } from './dump-seeds.ts';
import type { Field, Seed } from './mutators.ts';

const PAGE = 4096;
const SIZE = 16 * 2 ** 20; // the generator's smallest machine
const MAX_RUNS = 32; // the header's PhysicalMemoryBlock holds 43

const machines = new Map<string, Machine>();
function machine(scenario: string): Machine {
  let m = machines.get(scenario);
  if (!m) machines.set(scenario, (m = machineFor({ scenario, sizeBytes: SIZE, seed: 1 })));
  return m;
}

/** Meaningful pages only; for a full dump, gaps between them filled from the filler so runs stay ≤ MAX_RUNS. */
function pagesFor(m: Machine, form: Form, stored: Uint8Array): PageMap {
  const pages: PageMap = new Map();
  for (const [pfn, b] of m.mem.pages) if (stored[pfn]) pages.set(pfn, b);
  if (form !== 'full') return pages;
  const pfns = [...pages.keys()].sort((a, b) => a - b);
  const gaps: Array<[number, number]> = [];
  for (let i = 1; i < pfns.length; i++) if (pfns[i]! > pfns[i - 1]! + 1) gaps.push([pfns[i - 1]! + 1, pfns[i]!]);
  gaps.sort((a, b) => a[1] - a[0] - (b[1] - b[0]));
  // Fill the smallest gaps until the run count fits; a gap that is a hole in the machine stays a gap.
  let runs = gaps.length + 1;
  for (const [from, to] of gaps) {
    if (runs <= MAX_RUNS) break;
    let hole = false;
    for (let p = from; p < to && !hole; p++) hole = !stored[p];
    if (hole) continue;
    for (let p = from; p < to; p++) {
      const b = Buffer.alloc(PAGE);
      m.filler.write(p, b, 0);
      pages.set(p, b);
    }
    runs--;
  }
  return pages;
}

/** File offset of each stored pfn, in the order the builders write them. */
function fileOffsets(data: Buffer, pages: PageMap, form: Form): Map<number, number> {
  const pfns = [...pages.keys()].sort((a, b) => a - b);
  let first = 0;
  if (form === 'full') first = 0x2000;
  else if (form === 'bitmap' || form === 'active') first = Number(data.readBigUInt64LE(0x2020));
  else if (form === 'kernel') first = Number(data.readBigUInt64LE(0x2018));
  const out = new Map<number, number>();
  pfns.forEach((p, i) => out.set(p, form === 'raw' ? p * PAGE : first + i * PAGE));
  return out;
}

function build(m: Machine, form: Form): { data: Buffer; pages: PageMap } {
  const plan = planForm(m, form);
  const pages = pagesFor(m, form, plan.stored);
  let data: Buffer;
  if (form === 'raw') {
    const max = Math.max(...pages.keys()) + 1;
    data = Buffer.alloc(max * PAGE);
    for (const [p, b] of pages) b.copy(data, p * PAGE);
    return { data, pages };
  }
  if (form === 'full') {
    data = buildFull(pages);
    plan.header.copy(data, 0, 0, 0x88); // the generator's header, our run table
    plan.header.copy(data, 0x348, 0x348, 0x2000);
  } else if (form === 'kernel') {
    data = buildRdmp(pages, { dumpType: 8 });
    plan.header.copy(data, 0, 0, 0x2000);
  } else {
    data = buildBitmap(pages, { dumpType: form === 'active' ? 6 : 5, signature: form === 'active' ? 'SDMP' : 'FDMP', bitCount: m.mem.pageLimit });
    plan.header.copy(data, 0, 0, 0x2000);
  }
  data.writeBigUInt64LE(BigInt(data.length), 0xfa0); // RequiredDumpSpace
  return { data, pages };
}

const EPROCESS_FIELDS: ReadonlyArray<readonly [string, string, 1 | 2 | 4 | 8]> = [
  ['_EPROCESS', 'ActiveProcessLinks', 8],
  ['_EPROCESS', 'ActiveProcessLinks.Blink', 8],
  ['_EPROCESS', 'UniqueProcessId', 8],
  ['_EPROCESS', 'InheritedFromUniqueProcessId', 8],
  ['_EPROCESS', 'ImageFileName', 8],
  ['_EPROCESS', 'Protection', 1],
  ['_EPROCESS', 'Peb', 8],
  ['_EPROCESS', 'VadRoot', 8],
  ['_EPROCESS', 'SeAuditProcessCreationInfo', 8],
  ['_EPROCESS', 'Session', 8],
  ['_EPROCESS', 'ObjectTable', 8],
  ['_EPROCESS', 'CreateTime', 8],
  ['_EPROCESS', 'ExitTime', 8],
  ['_KPROCESS', 'DirectoryTableBase', 8],
  ['_KPROCESS', 'SecureState', 8],
  ['_KPROCESS', 'SecurePid', 8],
];

function sampleSeed(name: string, scenario: string, form: Form): Seed {
  const m = machine(scenario);
  const { data, pages } = build(m, form);
  const offs = fileOffsets(data, pages, form);
  const fields: Field[] = [
    { at: 0x10, size: 8, name: 'DirectoryTableBase' },
    { at: 0x28, size: 8, name: 'PsActiveProcessHead' },
    { at: 0x20, size: 8, name: 'PsLoadedModuleList' },
    { at: 0x80, size: 8, name: 'KdDebuggerDataBlock' },
    { at: 0xf98, size: 4, name: 'DumpType' },
  ];
  if (form === 'full') fields.push({ at: 0x88, size: 4, name: 'NumberOfRuns' }, { at: 0x98, size: 8, name: 'Run[0].BasePage' }, { at: 0xa0, size: 8, name: 'Run[0].PageCount' });
  if (form === 'bitmap' || form === 'active') fields.push({ at: 0x2020, size: 8, name: 'FirstPage' }, { at: 0x2028, size: 8, name: 'TotalPresentPages' }, { at: 0x2030, size: 8, name: 'Pages' });
  if (form === 'kernel') fields.push({ at: 0x2010, size: 8, name: 'MetadataSize' }, { at: 0x2018, size: 8, name: 'FirstPageOffset' }, { at: 0x2030, size: 8, name: 'Range[0].Pfn' }, { at: 0x2038, size: 8, name: 'Range[0].Count' });
  const hot: Array<[number, number]> = [[0, 0x100]];
  const pointerSpans: Array<[number, number]> = [];
  const pte: number[] = [];
  const fileOf = (pa: number) => {
    const o = offs.get(Math.floor(pa / PAGE));
    return o === undefined ? undefined : o + (pa % PAGE);
  };
  for (const p of m.processes) {
    const at = fileOf(p.eprocessPa);
    if (at === undefined) continue;
    const inPage = PAGE - (p.eprocessPa % PAGE);
    const start = Math.max(at - 0x80, at - (p.eprocessPa % PAGE)); // pool and object headers before the body
    hot.push([start, at - start + Math.min(inPage, 0xb80)]);
    pointerSpans.push([start, at - start + Math.min(inPage, 0xb80)]);
    for (const [struct, path, size] of EPROCESS_FIELDS) {
      const f = m.layout.field(struct, path);
      if (f && f.offset + size <= inPage) fields.push({ at: at + f.offset, size, name: `${p.spec.name}.${path}` });
    }
    for (const t of p.tablePfns.slice(0, 8)) {
      const o = offs.get(t);
      if (o === undefined) continue;
      hot.push([o, PAGE]);
      for (let e = 0; e < 512; e++) if (data.readUInt32LE(o + e * 8) & 1) pte.push(o + e * 8);
    }
  }
  // The list head's page.
  const headPa = translate(m, m.psActiveProcessHead);
  const headAt = headPa === undefined ? undefined : fileOf(headPa);
  if (headAt !== undefined) {
    fields.push({ at: headAt, size: 8, name: 'PsActiveProcessHead.Flink' }, { at: headAt + 8, size: 8, name: 'PsActiveProcessHead.Blink' });
    hot.push([headAt - (headAt % PAGE), PAGE]);
  }
  const pointers: number[] = [];
  for (const [s, l] of pointerSpans) pointers.push(...scanQwords(data.subarray(0, s + l), 0, s).pointers);
  return { name, data, fields, hot, pointers, ptes: pte.slice(0, 20000) };
}

/** VA → PA through the machine's System address space (for the list head). */
function translate(m: Machine, va: bigint): number | undefined {
  return m.system.translate(va);
}

export function sampleFullSeeds(): Seed[] {
  return [sampleSeed('cg-full.dmp', 'vsm-credential-guard', 'full'), sampleSeed('hostile-full.dmp', 'hostile-names', 'full'), sampleSeed('b14393-full.dmp', 'build-14393', 'full')];
}
export function sampleBitmapSeeds(): Seed[] {
  return [sampleSeed('cg-bitmap.dmp', 'vsm-credential-guard', 'bitmap'), sampleSeed('cg-active.dmp', 'vsm-credential-guard', 'active')];
}
export function sampleKernelSeeds(): Seed[] {
  return [sampleSeed('cg-kernel.dmp', 'vsm-credential-guard', 'kernel')];
}
export function sampleRawSeeds(): Seed[] {
  return [sampleSeed('cg-raw.bin', 'vsm-credential-guard', 'raw')];
}
