// The kernel image: its first 2 MiB on a large page, the PE header, section table, debug directory
// and the CodeView RSDS record carrying the ISF's PDB name, GUID and age.
import { IMAGE_DEBUG_TYPE_CODEVIEW, IMAGE_FILE_MACHINE_AMD64, RSDS_HEADER_SIZE, DEBUG_DIRECTORY_SIZE } from '../../src/ntos/pe.ts';
import type { AddressSpace } from '../memory.ts';
import type { Rng } from '../rng.ts';
import type { Layout } from '../structs.ts';
import { align, type KernelVm } from './context.ts';

/** Globals whose RVAs bound the image's size (the image ends 256 KiB past the last of them). */
const USED_SYMBOLS = ['PsActiveProcessHead', 'PsLoadedModuleList', 'KdDebuggerDataBlock', 'PsInitialSystemProcess', 'ObHeaderCookie', 'ObTypeIndexTable', 'NtBuildNumber', 'MmPfnDatabase', 'PspCidTable'];
const DATA_SYMBOLS = ['PsActiveProcessHead', 'PsLoadedModuleList', 'KdDebuggerDataBlock', 'NtBuildNumber'];

export interface KernelImageInput {
  readonly layout: Layout;
  readonly rng: Rng;
  readonly kvm: KernelVm;
  readonly system: AddressSpace;
  readonly kernelPfns: Set<number>;
  readonly pdbId: { GUID: string; age: number; database: string };
  readonly kernelBase: bigint;
  /** First of the 512 physical pages holding the image's first 2 MiB. */
  readonly imagePhys: number;
}

/** Step: maps and writes the kernel image; returns its SizeOfImage. */
export function buildKernelImage(x: KernelImageInput): { sizeOfImage: number } {
  for (let p = x.imagePhys; p < x.imagePhys + 512; p++) x.kernelPfns.add(p);
  x.system.map2m(x.kernelBase, x.imagePhys, { exec: true });
  const maxRva = Math.max(...USED_SYMBOLS.map((s) => x.layout.rva(s)));
  const sizeOfImage = align(maxRva + 0x40000, 0x1000);
  const rsdsRva = 0x1c0000 + x.rng.int(0, 0x3000) * 16;
  writeKernelPe(x.kvm, x.kernelBase, sizeOfImage, rsdsRva, x.pdbId, x.rng, x.layout);
  return { sizeOfImage };
}

/** The kernel's PE header, section table and debug directory with the CodeView RSDS record of the ISF's PDB. */
function writeKernelPe(kvm: KernelVm, base: bigint, sizeOfImage: number, rsdsRva: number, id: { GUID: string; age: number; database: string }, rng: Rng, layout: Layout): void {
  const h = Buffer.alloc(0x1000);
  h.write('MZ', 0, 'latin1');
  h.writeUInt16LE(0x90, 2);
  h.writeUInt16LE(3, 4);
  h.writeUInt16LE(4, 8);
  h.writeUInt16LE(0xffff, 0x0c);
  h.writeUInt16LE(0xb8, 0x10);
  h.writeUInt16LE(0x40, 0x18);
  const lfanew = 0x108;
  h.writeUInt32LE(lfanew, 0x3c);
  h.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  h.write('PE\0\0', lfanew, 'latin1');
  const fh = lfanew + 4;
  const dataStart = Math.floor(Math.min(...DATA_SYMBOLS.map((s) => layout.rva(s))) / 0x1000) * 0x1000;
  const sections: [string, number, number, number][] = [
    ['.text', 0x1000, 0x1bf000, 0x60000020],
    ['.rdata', 0x1c0000, 0x40000, 0x40000040],
    ['PAGE', 0x200000, Math.max(0x1000, dataStart - 0x200000), 0x60000020],
    ['.data', dataStart, sizeOfImage - dataStart - 0x1000, 0xc8000040],
    ['.reloc', sizeOfImage - 0x1000, 0x1000, 0x42000040],
  ];
  h.writeUInt16LE(IMAGE_FILE_MACHINE_AMD64, fh);
  h.writeUInt16LE(sections.length, fh + 2);
  h.writeUInt32LE(rng.u32(), fh + 4);
  h.writeUInt16LE(0xf0, fh + 16);
  h.writeUInt16LE(0x22, fh + 18);
  const oh = fh + 20;
  h.writeUInt16LE(0x20b, oh);
  h.writeUInt8(14, oh + 2);
  h.writeUInt32LE(0x1bf000, oh + 4);
  h.writeUInt32LE(0x3b0000, oh + 16);
  h.writeUInt32LE(0x1000, oh + 20);
  h.writeBigUInt64LE(0x140000000n, oh + 24);
  h.writeUInt32LE(0x1000, oh + 32);
  h.writeUInt32LE(0x200, oh + 36);
  h.writeUInt16LE(10, oh + 40);
  h.writeUInt16LE(10, oh + 48);
  h.writeUInt32LE(sizeOfImage, oh + 56);
  h.writeUInt32LE(0x800, oh + 60);
  h.writeUInt32LE(rng.u32() & 0xffffff, oh + 64);
  h.writeUInt16LE(1, oh + 68); // NATIVE
  h.writeUInt16LE(0x4160, oh + 70);
  h.writeBigUInt64LE(0x80000n, oh + 72);
  h.writeBigUInt64LE(0x1000n, oh + 80);
  h.writeBigUInt64LE(0x100000n, oh + 88);
  h.writeBigUInt64LE(0x1000n, oh + 96);
  h.writeUInt32LE(16, oh + 108);
  const dd = oh + 112;
  const debugDirRva = rsdsRva - 0x40;
  h.writeUInt32LE(debugDirRva, dd + 6 * 8);
  h.writeUInt32LE(DEBUG_DIRECTORY_SIZE, dd + 6 * 8 + 4);
  let sh = oh + 0xf0;
  for (const [name, va, size, ch] of sections) {
    h.write(name, sh, 'latin1');
    h.writeUInt32LE(size, sh + 8);
    h.writeUInt32LE(va, sh + 12);
    h.writeUInt32LE(align(size, 0x200), sh + 16);
    h.writeUInt32LE(va, sh + 20);
    h.writeUInt32LE(ch >>> 0, sh + 36);
    sh += 40;
  }
  kvm.write(base, h);
  // IMAGE_DEBUG_DIRECTORY (CodeView) and the RSDS record.
  const name = Buffer.from(id.database + '\0', 'latin1');
  const rsds = Buffer.alloc(RSDS_HEADER_SIZE + name.length);
  rsds.write('RSDS', 0, 'latin1');
  const g = Buffer.from(id.GUID.replace(/-/g, ''), 'hex');
  // GUID: Data1 (u32), Data2, Data3 (u16) little-endian, Data4 bytes in order (formats.md §3).
  rsds.writeUInt32LE(g.readUInt32BE(0), 4);
  rsds.writeUInt16LE(g.readUInt16BE(4), 8);
  rsds.writeUInt16LE(g.readUInt16BE(6), 10);
  g.copy(rsds, 12, 8, 16);
  rsds.writeUInt32LE(id.age, 20);
  name.copy(rsds, RSDS_HEADER_SIZE);
  const dbg = Buffer.alloc(DEBUG_DIRECTORY_SIZE);
  dbg.writeUInt32LE(IMAGE_DEBUG_TYPE_CODEVIEW, 12);
  dbg.writeUInt32LE(rsds.length, 16);
  dbg.writeUInt32LE(rsdsRva, 20);
  dbg.writeUInt32LE(rsdsRva, 24);
  kvm.write(base + BigInt(debugDirRva), dbg);
  kvm.write(base + BigInt(rsdsRva), rsds);
}
