// VMware guest memory: a `.vmem` file is flat, but for guests with more than ~3 GiB the physical
// address space has a hole (the PCI window), and the `.vmss` (suspend) or `.vmsn` (snapshot)
// state file beside it says which physical ranges are where in the `.vmem`. The pair is
// recognised by the state file's content (magic 0xBED2BED0 and relatives); its name only
// locates it. Layout (as Volatility 3's vmware layer reads it): header {magic u32, u32,
// groupCount u32}; groupCount × {name[64], tagsOffset u64, u64}; in group "memory", tags
// {flags u8, nameLen u8, name, indices u32 × (flags>>6 & 3), data (flags & 0x3F bytes; 62/63 =
// a long blob with size fields)} until a zero tag; regionsCount, regionPPN[i], regionPageNum[i],
// regionSize[i] (in pages) map physical page PPN.. to .vmem page PageNum...
import { existsSync, statSync } from 'node:fs';
import { BadInputError, UnsupportedError } from '../errors.ts';
import { EvidenceFile } from './evidence-file.ts';
import { RunPhysicalMemory, type FileSegment } from './physical.ts';
import { PAGE_SIZE, type Dump } from './types.ts';

export const VMWARE_MAGICS = [0xbed2bed0, 0xbad1bad1, 0xbed2bed2, 0xbed3bed3];
const MAX_GROUPS = 1024;
const MAX_TAGS = 1 << 16;
const MAX_REGIONS = 4096;

export function isVmwareState(head: Buffer): boolean {
  return head.length >= 4 && VMWARE_MAGICS.includes(head.readUInt32LE(0));
}

/** The state file beside `vmemPath` (same base name, .vmss or .vmsn) whose content is VMware state. */
export function findStateBeside(vmemPath: string): string | undefined {
  const base = vmemPath.replace(/\.[^./\\]*$/, '');
  for (const ext of ['.vmss', '.vmsn', '.VMSS', '.VMSN']) {
    const p = base + ext;
    if (p === vmemPath || !existsSync(p) || !statSync(p).isFile()) continue;
    const f = new EvidenceFile(p);
    try {
      if (f.size >= 12 && isVmwareState(f.readExact(0, 4, 'VMware magic'))) return p;
    } finally {
      f.close();
    }
  }
  return undefined;
}

/** The .vmem beside a state file, if any. */
export function findVmemBeside(statePath: string): string | undefined {
  const p = statePath.replace(/\.[^./\\]*$/, '') + '.vmem';
  return p !== statePath && existsSync(p) && statSync(p).isFile() ? p : undefined;
}

export interface VmwareRegion {
  readonly basePage: number;
  readonly filePage: number;
  readonly pageCount: number;
}

/** Reads the memory region map from a VMware state file. */
export function readRegions(statePath: string): { regions: VmwareRegion[]; version: number } {
  const f = new EvidenceFile(statePath);
  try {
    const fail = (what: string) => new BadInputError(`VMware state file ${statePath}: ${what}`, 'dump.vmware-state');
    const head = f.readExact(0, 12, 'VMware state header');
    if (!isVmwareState(head)) throw fail('wrong magic');
    const version = head[0]! & 0xf;
    const groupCount = head.readUInt32LE(8);
    if (groupCount === 0 || groupCount > MAX_GROUPS) throw fail(`group count ${groupCount} is not sane`);
    const groups = f.readExact(12, groupCount * 80, 'VMware group table');
    let memoryTags = -1;
    for (let g = 0; g < groupCount; g++) {
      const nameEnd = groups.indexOf(0, g * 80);
      const name = groups.toString('latin1', g * 80, nameEnd >= 0 && nameEnd < g * 80 + 64 ? nameEnd : g * 80 + 64);
      if (name === 'memory') memoryTags = Number(groups.readBigUInt64LE(g * 80 + 64));
    }
    if (memoryTags < 0) throw new UnsupportedError(`VMware state file ${statePath} has no "memory" group`, 'dump.vmware-no-memory');
    if (!(memoryTags < f.size)) throw fail('memory group points outside the file');
    // Tags are read one small window at a time: a blob (e.g. memory kept inside a .vmsn) is skipped, not read.
    const values = new Map<string, number>();
    let off = memoryTags;
    for (let n = 0; ; n++) {
      if (n > MAX_TAGS) throw fail('too many tags in the memory group');
      const win = Math.min(2 + 255 + 12 + 8, f.size - off);
      if (win < 2) throw fail('tag list runs past the end of the file');
      const area = f.readExact(off, win, 'VMware tag');
      const flags = area[0]!;
      const nameLen = area[1]!;
      if (flags === 0 && nameLen === 0) break;
      const nIdx = (flags >> 6) & 3;
      let dataLen = flags & 0x3f;
      const at = 2 + nameLen + nIdx * 4;
      if (at > area.length) throw fail('tag runs past the end of the file');
      const name = area.toString('latin1', 2, 2 + nameLen);
      const idx: number[] = [];
      for (let i = 0; i < nIdx; i++) idx.push(area.readUInt32LE(2 + nameLen + i * 4));
      if (dataLen === 62 || dataLen === 63) {
        // A blob: size fields (4 bytes on version 0, else 8), twice, then 2 bytes, then the data.
        dataLen = version === 0 ? 4 : 8;
        if (at + dataLen > area.length) throw fail('blob tag runs past the end of the file');
        const size = dataLen === 4 ? area.readUInt32LE(at) : Number(area.readBigUInt64LE(at));
        off += at + 2 * dataLen + 2 + size;
        if (!Number.isSafeInteger(off) || off > f.size) throw fail(`blob "${name}" runs past the end of the file`);
        continue;
      }
      if (at + dataLen > area.length) throw fail('tag data runs past the end of the file');
      if (dataLen === 4) values.set(`${name}/${idx.join(',')}`, area.readUInt32LE(at));
      else if (dataLen === 8) values.set(`${name}/${idx.join(',')}`, Number(area.readBigUInt64LE(at)));
      off += at + dataLen;
    }
    const count = values.get('regionsCount/') ?? 0;
    if (count > MAX_REGIONS) throw fail(`region count ${count} is not sane`);
    const regions: VmwareRegion[] = [];
    for (let i = 0; i < count; i++) {
      const basePage = values.get(`regionPPN/${i}`);
      const filePage = values.get(`regionPageNum/${i}`);
      const pageCount = values.get(`regionSize/${i}`);
      if (basePage === undefined || filePage === undefined || pageCount === undefined) throw fail(`region ${i} is incomplete`);
      regions.push({ basePage, filePage, pageCount });
    }
    return { regions, version };
  } finally {
    f.close();
  }
}

/** Opens `vmem` with the region map of `state` (no regions: the .vmem is flat from page 0). */
export function openVmware(vmem: EvidenceFile, statePath: string): Dump {
  const { regions } = readRegions(statePath);
  const reasons: string[] = [];
  let segs: FileSegment[];
  if (regions.length === 0) {
    segs = [{ basePage: 0, pageCount: Math.floor(vmem.size / PAGE_SIZE), fileOffset: 0 }];
  } else {
    segs = regions.map((r) => ({ basePage: r.basePage, pageCount: r.pageCount, fileOffset: r.filePage * PAGE_SIZE }));
  }
  for (const s of segs) {
    if (s.basePage + s.pageCount > 2 ** 40) throw new BadInputError(`VMware region at page 0x${s.basePage.toString(16)} lies beyond the physical address space`, 'dump.vmware-region');
  }
  const physical = new RunPhysicalMemory(vmem, segs);
  if (physical.missingPages > 0) reasons.push(`truncated: ${physical.missingPages} page(s) the VMware region map describes are past the end of the .vmem (0x${vmem.size.toString(16)} bytes)`);
  return {
    path: vmem.path,
    fileSize: vmem.size,
    format: 'vmware',
    formatName: `VMware guest memory (.vmem with ${statePath.replace(/^.*[\\/]/, '')})`,
    physical,
    partialByNature: false,
    partialReasons: reasons,
    details: {
      parseSteps: ['detect-vmware-state', 'parse-vmware-regions', 'build-physical-map'],
      vmwareState: statePath,
      vmwareRegions: regions.map((r) => ({ basePage: `0x${r.basePage.toString(16)}`, filePage: `0x${r.filePage.toString(16)}`, pageCount: r.pageCount })),
    },
    close: () => physical.close(),
  };
}
