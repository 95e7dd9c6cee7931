// The on-disk structures: sizes and the offsets the analyzer depends on, then the real files.
import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  BITMAP_HEADER64, DUMP_DRIVER_ENTRY64, DUMP_HEADER64, PHYSICAL_MEMORY_DESCRIPTOR64, PHYSMEM_RUN64, RDMP_HEADER64,
  RDMP_PFN_RANGE, TRIAGE_DATA_BLOCK, TRIAGE_DUMP64, MAX_HEADER_RUNS,
} from '../src/dump/crash-structs.ts';
import { openDump } from '../src/dump/open.ts';
import { UnsupportedError } from '../src/errors.ts';

const REAL = new URL('../../shared/data/real/', import.meta.url).pathname;

test('structure sizes match the formats and the parsers consume exactly that', (t) => {
  const sizes: Array<[{ size: number; parser: { sizeOf(): number } }, number]> = [
    [DUMP_HEADER64, 0x2000],
    [PHYSICAL_MEMORY_DESCRIPTOR64, 0x10],
    [PHYSMEM_RUN64, 0x10],
    [BITMAP_HEADER64, 0x38],
    [RDMP_HEADER64, 0x30],
    [RDMP_PFN_RANGE, 0x10],
    [TRIAGE_DUMP64, 0x80],
    [DUMP_DRIVER_ENTRY64, 0x90],
    [TRIAGE_DATA_BLOCK, 0x10],
  ];
  for (const [s, size] of sizes) {
    t.is(s.size, size);
    t.is(s.parser.sizeOf(), size);
  }
  t.is(MAX_HEADER_RUNS, 43);
});

test('key offsets', (t) => {
  t.like(DUMP_HEADER64.offsets, {
    signature: 0, validDump: 4, minorVersion: 0xc, directoryTableBase: 0x10, psLoadedModuleList: 0x20, psActiveProcessHead: 0x28,
    machineImageType: 0x30, numberProcessors: 0x34, bugCheckCode: 0x38, bugCheckParameter1: 0x40, kdDebuggerDataBlock: 0x80,
    physicalMemoryBlock: 0x88, dumpType: 0xf98, requiredDumpSpace: 0xfa0, systemTime: 0xfa8, comment: 0xfb0, systemUpTime: 0x1030, productType: 0x1040,
  });
  t.like(BITMAP_HEADER64.offsets, { signature: 0, validDump: 4, firstPage: 0x20, totalPresentPages: 0x28, pages: 0x30 });
  t.like(RDMP_HEADER64.offsets, { marker: 0, signature: 4, validDump: 8, metadataSize: 0x10, firstPageOffset: 0x18, numberOfRanges: 0x20, totalNumberOfPages: 0x28 });
  t.like(TRIAGE_DUMP64.offsets, { contextOffset: 0xc, processOffset: 0x20, threadOffset: 0x24, callStackOffset: 0x28, driverListOffset: 0x30, driverCount: 0x34, stringPoolOffset: 0x38, debuggerDataOffset: 0x70, dataBlocksOffset: 0x78, dataBlocksCount: 0x7c });
  t.like(DUMP_DRIVER_ENTRY64.offsets, { driverNameOffset: 0, dllBase: 0x38, sizeOfImage: 0x48 });
});

test('real triage_x64.dmp: header and TRIAGE_DUMP64 as SOURCES.md records them', (t) => {
  const raw = readFileSync(REAL + 'triage_x64.dmp');
  const h = DUMP_HEADER64.parse(raw.subarray(0, 0x2000));
  t.is(h.minorVersion, 19041);
  t.is(h.dumpType, 4);
  t.is(h.directoryTableBase, 0x1ad000n);
  t.is(h.psActiveProcessHead, 0xfffff8047c61e200n);
  t.is(h.psLoadedModuleList, 0xfffff8047c62a390n);
  t.is(h.kdDebuggerDataBlock, 0xfffff8047c600b20n);
  t.is(h.pfnDataBase, 0xfffff8047c6fc500n);
  t.is(h.bugCheckCode, 0x1000007e);
  t.is(h.numberProcessors, 16);
  const tr = TRIAGE_DUMP64.parse(raw, 0x2000);
  t.like(tr, { contextOffset: 0x348, mmOffset: 0x2080, prcbOffset: 0x21b8, processOffset: 0xd0b8, threadOffset: 0xdaf8, callStackOffset: 0xe390, sizeOfCallStack: 0x2118, driverListOffset: 0x10828, driverCount: 0x97, stringPoolOffset: 0x15d18, stringPoolSize: 0x3720 });
});

test('real triage_x64.dmp through openDump: DumpType 4 explained, drivers and KDBG', (t) => {
  const d = openDump(REAL + 'triage_x64.dmp');
  t.is(d.format, 'crash-triage');
  t.is(d.physical, undefined);
  t.true(d.partialByNature);
  t.regex(d.partialReasons[0]!, /holds no physical memory/);
  t.is(d.header!.minorVersion, 19041);
  t.is(d.header!.bugCheckCode, 0x1000007e);
  t.is(d.header!.directoryTableBase, 0x1ad000n);
  t.is(d.header!.psActiveProcessHead, 0xfffff8047c61e200n);
  const tri = d.triage!;
  t.true(tri.valid);
  t.is(tri.drivers.length, 0x97);
  t.is(tri.drivers[0]!.name, '\\SystemRoot\\system32\\ntoskrnl.exe');
  t.is(tri.drivers[0]!.dllBase, 0xfffff8047ba00000n);
  t.is(tri.drivers[0]!.sizeOfImage, 0x1046000);
  t.true(tri.drivers.every((x) => typeof x.name === 'string' && x.name.length > 0));
  t.is(tri.kdbg!.kernBase, 0xfffff8047ba00000n);
  t.is(tri.kdbg!.psActiveProcessHead, d.header!.psActiveProcessHead);
  t.deepEqual(d.details.parseSteps, ['parse-header', 'check-machine', 'check-dump-type', 'parse-triage-header', 'parse-driver-list']);
  d.close();
});

test('real triage_arm64.dmp is refused as an unsupported architecture', (t) => {
  const e = t.throws(() => openDump(REAL + 'triage_arm64.dmp'), { instanceOf: UnsupportedError });
  t.regex(e!.message, /ARM64/);
  t.regex(e!.message, /0xaa64/);
  t.is(e!.exitCode, 3);
});
