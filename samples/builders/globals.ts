// Kernel globals: NtBuildNumber, MmPfnDatabase, NtBuildLab, PspCidTable, the low stub
// (PROCESSOR_START_BLOCK), KUSER_SHARED_DATA; and the decoded KDBG written once the lists exist.
import { EXPECTED_LOW_STUB_JMP, LOW_STUB_CR3, LOW_STUB_KERNEL_ENTRY } from '../../src/dump/low-stub.ts';
import { KUSER_SHARED_DATA } from '../../src/ntos/kernel.ts';
import { optionalHeadersBytes } from '../../src/ntos/object-header.ts';
import { MM_PROTECT_TO_VALUE } from '../../src/ntos/page-protection.ts';
import { canonical } from '../memory.ts';
import { StructWriter, utf16 } from '../structs.ts';
import { u32, u64, type KernelCtx } from './context.ts';
import type { ObjectSpace } from './object.ts';

/** NtBuildNumber's high nibble on a free (release) build. */
const NT_BUILD_FREE = 0xf0000000;
/** PROCESSOR_START_BLOCK (formats.md §3) lives in page 1; its jmp, kernel entry and boot CR3 offsets are the analyzer's (src/dump/low-stub.ts). */
const LOW_STUB_PFN = 1;

export interface Globals {
  readonly mmPfnDatabase: bigint;
}

/** Step: the globals written before any process exists. */
export function buildGlobals(k: KernelCtx, o: ObjectSpace): Globals {
  const { types, layout, rng, scenario, build, known } = k;
  k.kwrite(k.sym('NtBuildNumber'), u32((NT_BUILD_FREE | build) >>> 0));
  const mmPfnDatabase = canonical(BigInt(k.pick(0x140, 0x1e0, [k.selfRefIndex, k.poolIndex, k.sessionIndex])) << 39n) | 0x8000000000n * BigInt(rng.int(0, 2));
  k.kwrite(k.sym('MmPfnDatabase'), u64(mmPfnDatabase));
  if (types.symbolRva('MmSystemRangeStart') !== undefined) k.kwrite(k.sym('MmSystemRangeStart'), u64(0xffff800000000000n));
  if (types.symbolRva('KeNumberProcessors') !== undefined) k.kwrite(k.sym('KeNumberProcessors'), u32(scenario.processors ?? 4));
  if (types.symbolRva('KdpDataBlockEncoded') !== undefined) k.kwrite(k.sym('KdpDataBlockEncoded'), Buffer.from([0]));
  for (const s of ['KiWaitNever', 'KiWaitAlways']) if (types.symbolRva(s) !== undefined) k.kwrite(k.sym(s), u64(rng.u64()));
  if (types.symbolRva('NtBuildLab') !== undefined) {
    const lab = known ? `${known.version.split('.').slice(2).join('.')}.amd64fre.release.000000-0000` : `${build}.1.amd64fre`;
    k.kwrite(k.sym('NtBuildLab'), Buffer.from(lab + '\0', 'latin1'));
  }
  // PspCidTable: an (empty) handle table object.
  const cid = o.pool.alloc(layout, layout.size('_HANDLE_TABLE'), 'Obtb', 'large');
  k.kwrite(k.sym('PspCidTable'), u64(cid.headerVa + 0x10n));
  writeLowStub(k);
  writeKuserSharedData(k);
  writeDecodingTables(k);
  return { mmPfnDatabase };
}

/**
 * `mov rax, [rcx]; sar rax, 10h; and rax, -10h; ret`: how ObpCaptureHandleInformationEx turns a
 * HANDLE_TABLE_ENTRY into its OBJECT_HEADER pointer (Volatility reads the SAR count from it).
 */
const HANDLE_DECODE_STUB = Buffer.from([0x48, 0x8b, 0x01, 0x48, 0xc1, 0xf8, 0x10, 0x48, 0x83, 0xe0, 0xf0, 0xc3]);

/** Tables the kernel keeps in .rdata and readers use: ObpInfoMaskToOffset, MmProtectToValue, the handle-decode code. */
function writeDecodingTables(k: KernelCtx): void {
  const { types } = k;
  if (types.symbolRva('ObpInfoMaskToOffset') !== undefined) {
    const t = Buffer.alloc(256);
    for (let m = 0; m < 256; m++) t[m] = optionalHeadersBytes(m);
    k.kwrite(k.sym('ObpInfoMaskToOffset'), t);
  }
  if (types.symbolRva('MmProtectToValue') !== undefined) {
    const t = Buffer.alloc(4 * MM_PROTECT_TO_VALUE.length);
    MM_PROTECT_TO_VALUE.forEach((v, i) => t.writeInt32LE(v, 4 * i));
    k.kwrite(k.sym('MmProtectToValue'), t);
  }
  if (types.symbolRva('ObpCaptureHandleInformationEx') !== undefined) k.kwrite(k.sym('ObpCaptureHandleInformationEx'), HANDLE_DECODE_STUB);
}

/** The low stub at PA 0x1000, as MemProcFS finds it in raw images. */
function writeLowStub(k: KernelCtx): void {
  const lowStub = k.mem.page(LOW_STUB_PFN);
  lowStub.writeBigUInt64LE(EXPECTED_LOW_STUB_JMP, 0);
  lowStub.writeBigUInt64LE(k.kernelBase + 0x3d4010n, LOW_STUB_KERNEL_ENTRY);
  lowStub.writeBigUInt64LE(BigInt(k.system.dtb), LOW_STUB_CR3);
}

/** KUSER_SHARED_DATA at its fixed kernel address. */
function writeKuserSharedData(k: KernelCtx): void {
  const { layout, scenario, crashTime, bootTime } = k;
  const kuser = Buffer.alloc(layout.size('_KUSER_SHARED_DATA'));
  const ku = new StructWriter(layout, '_KUSER_SHARED_DATA', kuser, 0);
  ku.set('NtMajorVersion', 10);
  ku.set('NtMinorVersion', 0);
  ku.set('NtBuildNumber', k.build, true);
  ku.set('NtProductType', scenario.productType ?? 1, true);
  ku.set('ProductTypeIsValid', 1, true);
  ku.set('NumberOfPhysicalPages', k.pageLimit, true);
  ku.set('ActiveProcessorCount', scenario.processors ?? 4, true);
  ku.set('SystemTime.LowPart', Number(crashTime & 0xffffffffn), true);
  ku.set('SystemTime.High1Time', Number(crashTime >> 32n), true);
  ku.set('SystemTime.High2Time', Number(crashTime >> 32n), true);
  const upTime = crashTime - bootTime;
  ku.set('InterruptTime.LowPart', Number(upTime & 0xffffffffn), true);
  ku.set('InterruptTime.High1Time', Number(upTime >> 32n), true);
  ku.set('InterruptTime.High2Time', Number(upTime >> 32n), true);
  ku.bytes('NtSystemRoot', utf16('C:\\Windows\0'), true);
  k.kwrite(KUSER_SHARED_DATA, kuser);
}

/** KDDEBUGGER_DATA64 as a crash dump writer leaves it (decoded; wdbgexts.h layout). */
const KDBG = {
  SIZE: 0x368,
  LIST_HEAD_GAP: 0x380n,
  OWNER_TAG: 0x10,
  SIZE_FIELD: 0x14,
  KERN_BASE: 0x18,
  BREAKPOINT_WITH_STATUS: 0x20,
  THREAD_CALLBACK_STACK: 0x30,
  NEXT_CALLBACK: 0x32,
  FRAME_POINTER: 0x34,
  PS_LOADED_MODULE_LIST: 0x48,
  PS_ACTIVE_PROCESS_HEAD: 0x50,
  PSP_CID_TABLE: 0x58,
  OB_TYPE_INDEX_TABLE: 0xa0,
  MM_PFN_DATABASE: 0xc0,
} as const;

/** Step: the decoded KDBG block and the debugger-data list it hangs on. */
export function buildKdbg(k: KernelCtx, lists: { psActiveProcessHead: bigint; psLoadedModuleList: bigint }): bigint {
  const kdbgVa = k.sym('KdDebuggerDataBlock');
  const kdbg = Buffer.alloc(KDBG.SIZE);
  const listHeadVa = kdbgVa + KDBG.LIST_HEAD_GAP;
  kdbg.writeBigUInt64LE(listHeadVa, 0x00);
  kdbg.writeBigUInt64LE(listHeadVa, 0x08);
  kdbg.write('KDBG', KDBG.OWNER_TAG, 'latin1');
  kdbg.writeUInt32LE(KDBG.SIZE, KDBG.SIZE_FIELD);
  kdbg.writeBigUInt64LE(k.kernelBase, KDBG.KERN_BASE);
  kdbg.writeBigUInt64LE(k.kernelBase + 0x1f5000n, KDBG.BREAKPOINT_WITH_STATUS);
  kdbg.writeUInt16LE(0x130, KDBG.THREAD_CALLBACK_STACK);
  kdbg.writeUInt16LE(0x138, KDBG.NEXT_CALLBACK);
  kdbg.writeUInt16LE(0x158, KDBG.FRAME_POINTER);
  kdbg.writeBigUInt64LE(lists.psLoadedModuleList, KDBG.PS_LOADED_MODULE_LIST);
  kdbg.writeBigUInt64LE(lists.psActiveProcessHead, KDBG.PS_ACTIVE_PROCESS_HEAD);
  kdbg.writeBigUInt64LE(k.sym('PspCidTable'), KDBG.PSP_CID_TABLE);
  kdbg.writeBigUInt64LE(k.sym('ObTypeIndexTable'), KDBG.OB_TYPE_INDEX_TABLE);
  kdbg.writeBigUInt64LE(k.sym('MmPfnDatabase'), KDBG.MM_PFN_DATABASE);
  k.kwrite(kdbgVa, kdbg);
  const kl = Buffer.alloc(16);
  kl.writeBigUInt64LE(kdbgVa, 0);
  kl.writeBigUInt64LE(kdbgVa, 8);
  k.kwrite(listHeadVa, kl);
  return kdbgVa;
}
