// Synthetic dumps for the kernel-discovery and inference tests: the samples generator's dumps
// (real layouts from ../shared/data/isf), copied and patched so that no symbol source knows them.
import { copyFileSync, mkdirSync, openSync, closeSync, readFileSync, readSync, writeFileSync, writeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { generate, type Form, type Truth } from '../../samples/generate.ts';
import { loadScenario, type Scenario } from '../../samples/scenario.ts';
import { KUSER_NT_BUILD_NUMBER, KUSER_SHARED_DATA } from '../../src/ntos/kernel.ts';
import { readPeDebugInfo } from '../../src/ntos/pe.ts';

const FIX = new URL('../fixtures/pdb/', import.meta.url).pathname;

export interface Sample {
  path: string;
  truth: Truth;
}

const cache = new Map<string, Sample>();

/** Generates (once per process) a dump of the default scenario, or of `scenario`, for `kernel`. */
export function sample(dir: string, kernel: string, form: Form, opts: { scenario?: Scenario; tag?: string; sizeMiB?: number; seed?: number } = {}): Sample {
  const key = `${dir}|${kernel}|${form}|${opts.tag ?? ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${kernel}-${form}${opts.tag ? '-' + opts.tag : ''}.dmp`);
  const r = generate({
    scenario: opts.scenario ?? 'vsm-credential-guard',
    isf: kernel,
    form,
    sizeBytes: (opts.sizeMiB ?? 16) * 2 ** 20,
    seed: opts.seed ?? 7,
    out,
  });
  const s = { path: r.dumpPath, truth: r.truth };
  cache.set(key, s);
  return s;
}

export function scenario(mutate: (s: Scenario) => Scenario): Scenario {
  return mutate(loadScenario('vsm-credential-guard'));
}

/** GUID text (symbol-store order) → the 16 bytes as stored in an RSDS record. */
export function guidBytes(guid: string): Buffer {
  const b = Buffer.from(guid, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(b.readUInt32BE(0), 0);
  out.writeUInt16LE(b.readUInt16BE(4), 4);
  out.writeUInt16LE(b.readUInt16BE(6), 6);
  b.copy(out, 8, 8, 16);
  return out;
}

/** Every file offset of `needle` (bounded reads, 16 MiB at a time). */
export function findAll(path: string, needle: Buffer): number[] {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  const hits: number[] = [];
  try {
    const chunk = Buffer.alloc(16 * 2 ** 20 + needle.length);
    for (let pos = 0; pos < size; pos += 16 * 2 ** 20) {
      const n = readSync(fd, chunk, 0, chunk.length, pos);
      for (let i = chunk.subarray(0, n).indexOf(needle); i >= 0; i = chunk.subarray(0, n).indexOf(needle, i + 1)) {
        if (i < 16 * 2 ** 20 || pos + i >= size - needle.length) hits.push(pos + i);
      }
    }
  } finally {
    closeSync(fd);
  }
  return [...new Set(hits)];
}

export function patch(path: string, at: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}

/**
 * A copy of `src` whose kernel RSDS names `newGuid` (a kernel no source knows) and, for crash
 * dumps, whose header says `build`. Returns the copy's path.
 */
export function unknownKernelCopy(src: Sample, dest: string, newGuid: string, build?: number): string {
  copyFileSync(src.path, dest);
  const old = guidBytes(src.truth.pdb.guid);
  const rsds = findAll(dest, Buffer.concat([Buffer.from('RSDS', 'latin1'), old]));
  if (rsds.length !== 1) throw new Error(`expected one kernel RSDS record in ${src.path}, found ${rsds.length}`);
  patch(dest, rsds[0] + 4, guidBytes(newGuid));
  if (build !== undefined && src.truth.form !== 'raw') {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(build);
    patch(dest, 0x0c, b); // DUMP_HEADER64.MinorVersion
  }
  return dest;
}

/**
 * A hand-built raw image: 4-level tables with a self-map, the LLVM-written ntoskrnl.exe (RSDS
 * ntkrnlmp.pdb) mapped in memory layout at a 4 KiB-aligned (not 2 MiB-aligned) base, and
 * KUSER_SHARED_DATA. Exercises the 4 KiB pass of the scan and a PDB as the symbol source.
 */
export function buildTinyRaw(path: string, base: bigint, build: number): void {
  const mem = Buffer.alloc(4 * 2 ** 20);
  let next = 0x2000; // page 0 empty, PML4 at 0x1000
  const alloc = () => {
    const pa = next;
    next += 0x1000;
    return pa;
  };
  const PML4 = 0x1000;
  const self = 0x1ed;
  mem.writeBigUInt64LE(BigInt(PML4) | 0x8000000000000063n, PML4 + self * 8);
  const map = (va: bigint, pa: number) => {
    let table = PML4;
    for (const shift of [39n, 30n, 21n]) {
      const idx = Number((va >> shift) & 511n);
      let e = mem.readBigUInt64LE(table + idx * 8);
      if ((e & 1n) === 0n) {
        e = BigInt(alloc()) | 0x63n;
        mem.writeBigUInt64LE(e, table + idx * 8);
      }
      table = Number(e & 0x000ffffffffff000n);
    }
    mem.writeBigUInt64LE(BigInt(pa) | 0x63n, table + Number((va >> 12n) & 511n) * 8);
  };
  const exe = readFileSync(join(FIX, 'ntoskrnl.exe'));
  const pe = readPeDebugInfo(exe);
  const image = Buffer.alloc(pe.sizeOfImage);
  exe.copy(image, 0, 0, 0x400); // headers
  for (const s of pe.sections) exe.copy(image, s.virtualAddress, s.pointerToRawData, s.pointerToRawData + Math.min(s.sizeOfRawData, s.virtualSize));
  const imgPa = 0x200000;
  image.copy(mem, imgPa);
  for (let off = 0; off < image.length; off += 0x1000) map(base + BigInt(off), imgPa + off);
  // A decoy driver PE at a 2 MiB boundary (before the kernel in scan order) whose RSDS names hal.pdb: skipped.
  const drvPa = 0x300000;
  image.copy(mem, drvPa, 0, 0x3000);
  const dcv = mem.indexOf(Buffer.from('ntkrnlmp.pdb'), drvPa);
  mem.write('hal.pdb\0\0\0\0\0', dcv, 'latin1');
  for (let off = 0; off < 0x3000; off += 0x1000) map(0xfffff80400000000n + BigInt(off), drvPa + off);
  const kuserPa = alloc();
  mem.writeUInt32LE(build, kuserPa + KUSER_NT_BUILD_NUMBER);
  map(KUSER_SHARED_DATA, kuserPa);
  writeFileSync(path, mem);
}

