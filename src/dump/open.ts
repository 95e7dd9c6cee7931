// openDump(path): the one entry point to evidence. Detects the format by content, never by the
// file name:
//   `PAGEDU64`            → Windows x64 crash dump (crash.ts): DumpType 1, 4, 5, 6, 8, 9, 0xA;
//   `PAGEDUMP`            → 32-bit crash dump: UnsupportedError;
//   VMware state magic    → the .vmem beside it, mapped through the state file's regions (vmware.ts);
//   other known magics    → UnsupportedError / BadInputError naming what was found (minidump, ELF
//                           core, hibernation file, EWF, LiME, archives, VMware state, PE, PDB);
//   anything else         → raw physical memory image: page n at file offset n × 4096 — or, when a
//                           VMware .vmss/.vmsn (by content) sits beside it with the same base name,
//                           a .vmem mapped through that state file's memory regions.
// API (stable; others build on it): openDump(path, opts?) → Dump (src/dump/types.ts); Dump.physical
// is a PhysicalMemory (undefined for triage dumps); X64VirtualMemory in x64.ts walks it.
import { BadInputError, UnsupportedError } from '../errors.ts';
import { openCrash64, type OpenOptions } from './crash.ts';
import { DUMP_HEADER32, machineName, SIG_PAGE, VALID_DU64, VALID_DUMP32 } from './crash-structs.ts';
import { EvidenceFile } from './evidence-file.ts';
import { RunPhysicalMemory } from './physical.ts';
import { PAGE_SIZE, type Dump } from './types.ts';
import { findStateBeside, findVmemBeside, isVmwareState, openVmware } from './vmware.ts';

export type { OpenOptions } from './crash.ts';

/** Magic numbers of files that are not raw memory. */
const OTHER_FORMATS: ReadonlyArray<{ magic: Buffer; name: string; unsupported: boolean }> = [
  { magic: Buffer.from('MDMP'), name: 'a user-mode minidump (MDMP)', unsupported: true },
  { magic: Buffer.from('\x7fELF', 'latin1'), name: 'an ELF file (e.g. a QEMU/VirtualBox core dump)', unsupported: true },
  { magic: Buffer.from('hibr'), name: 'a Windows hibernation file', unsupported: true },
  { magic: Buffer.from('HIBR'), name: 'a Windows hibernation file', unsupported: true },
  { magic: Buffer.from('wake'), name: 'a Windows hibernation file', unsupported: true },
  { magic: Buffer.from('WAKE'), name: 'a Windows hibernation file', unsupported: true },
  { magic: Buffer.from('RSTR'), name: 'a Windows hibernation file', unsupported: true },
  { magic: Buffer.from('EVF\x09\x0d\x0a\xff\x00', 'latin1'), name: 'an EWF (E01) image: export it to a raw image first', unsupported: true },
  { magic: Buffer.from('EMiL'), name: 'a LiME image', unsupported: true },
  { magic: Buffer.from([0x1f, 0x8b]), name: 'a gzip archive: decompress it first', unsupported: true },
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), name: 'an xz archive: decompress it first', unsupported: true },
  { magic: Buffer.from([0x50, 0x4b, 0x03, 0x04]), name: 'a zip archive: extract it first', unsupported: true },
  { magic: Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]), name: 'a 7z archive: extract it first', unsupported: true },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), name: 'a zstd archive: decompress it first', unsupported: true },
  { magic: Buffer.from('BZh'), name: 'a bzip2 archive: decompress it first', unsupported: true },
  { magic: Buffer.from('Microsoft C/C++ MSF 7.00'), name: 'a PDB symbol file, not a memory dump', unsupported: false },
  { magic: Buffer.from('%PDF'), name: 'a PDF document, not a memory dump', unsupported: false },
];

/** Opens evidence read-only and detects its format. Throws BadInputError / UnsupportedError. */
export function openDump(path: string, opts: OpenOptions = {}): Dump {
  const file = new EvidenceFile(path);
  try {
    return detect(file, opts);
  } catch (e) {
    file.close();
    throw e;
  }
}

function detect(file: EvidenceFile, opts: OpenOptions): Dump {
  if (file.size === 0) throw new BadInputError(`${file.path} is empty (0 bytes)`, 'dump.empty');
  const head = file.readExact(0, Math.min(file.size, 64), 'file head');
  const sig = head.toString('latin1', 0, Math.min(4, head.length));
  if (sig === SIG_PAGE) {
    if (head.length < 8) throw new BadInputError('crash dump header is cut short (PAGE signature, nothing after it)', 'dump.truncated-header');
    const valid = head.toString('latin1', 4, 8);
    if (valid === VALID_DU64) return openCrash64(file, opts);
    if (valid === VALID_DUMP32) {
      if (head.length < DUMP_HEADER32.size) throw new UnsupportedError('32-bit crash dump (PAGEDUMP): not supported; only x64 (PAGEDU64) dumps are analysed', 'dump.unsupported-32bit');
      const h = DUMP_HEADER32.parse(head);
      throw new UnsupportedError(
        `32-bit crash dump (PAGEDUMP, ${machineName(h.machineImageType)}, build ${h.minorVersion}): not supported; only x64 (PAGEDU64) dumps are analysed`,
        'dump.unsupported-32bit',
      );
    }
    throw new BadInputError(`crash dump signature PAGE followed by ${JSON.stringify(valid)} instead of DU64: damaged header`, 'dump.bad-signature');
  }
  if (isVmwareState(head)) {
    // Given the .vmss/.vmsn: analyse the .vmem beside it through its region map.
    const vmem = findVmemBeside(file.path);
    if (!vmem) throw new UnsupportedError(`${file.path} is a VMware saved-state file with no .vmem beside it: give the .vmem (memory kept inside a .vmsn is not supported)`, 'dump.vmware-no-vmem');
    const v = new EvidenceFile(vmem);
    try {
      const d = openVmware(v, file.path);
      file.close();
      return d;
    } catch (e) {
      v.close();
      throw e;
    }
  }
  for (const f of OTHER_FORMATS) {
    if (head.length >= f.magic.length && head.subarray(0, f.magic.length).equals(f.magic)) {
      if (f.unsupported) throw new UnsupportedError(`${file.path} is ${f.name}`, 'dump.other-format');
      throw new BadInputError(`${file.path} is ${f.name}`, 'dump.not-a-dump');
    }
  }
  if (head.length >= 2 && head.toString('latin1', 0, 2) === 'MZ' && looksLikePe(file)) {
    throw new BadInputError(`${file.path} is a PE executable, not a memory dump`, 'dump.not-a-dump');
  }
  const state = findStateBeside(file.path);
  if (state) return openVmware(file, state);
  return openRaw(file, opts);
}

/** MZ at 0 with a PE header where e_lfanew points. Page 0 of real RAM does not look like this. */
function looksLikePe(file: EvidenceFile): boolean {
  if (file.size < 0x40) return false;
  const lfanew = file.readExact(0x3c, 4, 'e_lfanew').readUInt32LE(0);
  if (lfanew < 0x40 || lfanew > 0x1000 || lfanew + 4 > file.size) return false;
  return file.readExact(lfanew, 4, 'PE signature').equals(Buffer.from('PE\0\0', 'latin1'));
}

/** A raw physical image: one run from page 0, page n at file offset n × 4096. */
export function openRaw(file: EvidenceFile, opts: OpenOptions = {}): Dump {
  if (file.size < PAGE_SIZE) {
    throw new BadInputError(`${file.path} is ${file.size} bytes: too small for a memory image (less than one 4 KiB page) and not a recognised dump`, 'dump.too-small');
  }
  const pages = Math.floor(file.size / PAGE_SIZE);
  const physical = new RunPhysicalMemory(file, [{ basePage: 0, pageCount: pages, fileOffset: 0 }], opts.cachePages);
  const reasons: string[] = [];
  const tail = file.size % PAGE_SIZE;
  if (tail) reasons.push(`raw image size is not a multiple of 4 KiB: the last ${tail} bytes (a partial page) are ignored`);
  return {
    path: file.path,
    fileSize: file.size,
    format: 'raw',
    formatName: 'raw physical memory image',
    physical,
    partialByNature: false,
    partialReasons: reasons,
    details: {
      parseSteps: ['detect-raw', 'build-physical-map'],
      note: 'a raw image cannot mark absent pages: pages a crash dump would omit read as zeros here',
    },
    close: () => physical.close(),
  };
}
