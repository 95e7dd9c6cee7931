// The synthetic dump generator: deterministic, its ground truth agrees with the bytes it wrote
// (read back here with a minimal, independent header parser and x64 page walker using the ISF's
// offsets directly), sizes and headers are right for every form.
import test from 'ava';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generate, type Form, type Truth } from '../samples/generate.ts';
import { resolveKernel } from '../samples/kernels.ts';
import { IsfTypes, loadIsfFile } from '../src/ntos/isf.ts';

const TMP = fileURLToPath(new URL('./.tmp/samples-generator/', import.meta.url));
rmSync(TMP, { recursive: true, force: true });
const MiB = 2 ** 20;

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** An independent reader: physical page → file offset, from the header bytes alone. */
class FileMemory {
  readonly fd: number;
  readonly size: number;
  readonly offsets = new Map<number, number>();

  constructor(
    readonly path: string,
    readonly form: Form,
  ) {
    this.fd = openSync(path, 'r');
    this.size = statSync(path).size;
    const h = this.read(0, 0x2000);
    if (form === 'raw') return;
    const dumpType = h.readUInt32LE(0xf98);
    if (dumpType === 1) {
      const n = h.readUInt32LE(0x88);
      let off = 0x2000;
      for (let i = 0; i < n; i++) {
        const base = Number(h.readBigUInt64LE(0x98 + i * 16));
        const count = Number(h.readBigUInt64LE(0xa0 + i * 16));
        for (let p = 0; p < count; p++) this.offsets.set(base + p, off + p * 4096);
        off += count * 4096;
      }
    } else if (dumpType === 5 || dumpType === 6) {
      const b = this.read(0x2000, 0x38);
      const first = Number(b.readBigUInt64LE(0x20));
      const pages = Number(b.readBigUInt64LE(0x30));
      const bitmap = this.read(0x2038, Math.ceil(pages / 8));
      let k = 0;
      for (let p = 0; p < pages; p++) if (bitmap[p >> 3] & (1 << (p & 7))) this.offsets.set(p, first + 4096 * k++);
    } else if (dumpType === 8) {
      const r = this.read(0x2000, 0x30);
      const meta = Number(r.readBigUInt64LE(0x10));
      let off = Number(r.readBigUInt64LE(0x18));
      const ranges = this.read(0x2030, meta);
      for (let i = 0; i + 16 <= meta; i += 16) {
        const pfn = Number(ranges.readBigUInt64LE(i));
        const count = Number(ranges.readBigUInt64LE(i + 8));
        if (!pfn) break;
        for (let p = 0; p < count; p++) this.offsets.set(pfn + p, off + p * 4096);
        off += count * 4096;
      }
    }
  }

  read(off: number, len: number): Buffer {
    const b = Buffer.alloc(len);
    readSync(this.fd, b, 0, len, off);
    return b;
  }

  page(pfn: number): Buffer | undefined {
    const off = this.form === 'raw' ? pfn * 4096 : this.offsets.get(pfn);
    if (off === undefined || off + 4096 > this.size) return undefined;
    return this.read(off, 4096);
  }

  /** x64 4-level walk (4 KiB, 2 MiB, 1 GiB pages; transition PTEs count as resident). */
  translate(dtb: number, va: bigint): number | undefined {
    let table = dtb >>> 12;
    for (const [shift, level] of [
      [39n, 4],
      [30n, 3],
      [21n, 2],
      [12n, 1],
    ] as const) {
      const t = this.page(table);
      if (!t) return undefined;
      const e = t.readBigUInt64LE(Number((va >> shift) & 0x1ffn) * 8);
      const frame = Number((e & 0x000ffffffffff000n) >> 12n);
      if (!(e & 1n)) {
        if (level === 1 && e & 0x800n && !(e & 0x400n)) return frame * 4096 + Number(va & 0xfffn);
        return undefined;
      }
      if (level === 1) return frame * 4096 + Number(va & 0xfffn);
      if ((level === 2 || level === 3) && e & 0x80n) {
        const mask = (1n << shift) - 1n;
        return frame * 4096 + Number(va & mask);
      }
      table = frame;
    }
    return undefined;
  }

  readVa(dtb: number, va: bigint, len: number): Buffer | undefined {
    const out = Buffer.alloc(len);
    for (let done = 0; done < len; ) {
      const pa = this.translate(dtb, va + BigInt(done));
      if (pa === undefined) return undefined;
      const page = this.page(Math.floor(pa / 4096));
      if (!page) return undefined;
      const n = Math.min(4096 - (pa % 4096), len - done);
      page.copy(out, done, pa % 4096, (pa % 4096) + n);
      done += n;
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

const typesCache = new Map<string, IsfTypes>();
function isfFor(truth: Truth): IsfTypes {
  let t = typesCache.get(truth.pdb.guidAge);
  if (!t) {
    t = new IsfTypes(loadIsfFile(resolveKernel(truth.pdb.guidAge).path));
    typesCache.set(truth.pdb.guidAge, t);
  }
  return t;
}

const FILETIME_EPOCH = 116444736000000000n;
const iso = (ft: bigint) => (ft === 0n ? null : new Date(Number((ft - FILETIME_EPOCH) / 10000n)).toISOString());

function gen(name: string, form: Form, opts: { scenario?: string; size?: number; seed?: number; isf?: string } = {}) {
  return generate({ scenario: opts.scenario ?? 'vsm-credential-guard', isf: opts.isf, form, sizeBytes: (opts.size ?? 16) * MiB, seed: opts.seed ?? 1, out: `${TMP}${name}.dmp` });
}

test('same seed gives the same bytes; another seed does not', (t) => {
  const a = gen('det-a', 'full');
  const b = gen('det-b', 'full');
  const c = gen('det-c', 'full', { seed: 2 });
  t.is(sha256(a.dumpPath), sha256(b.dumpPath));
  t.deepEqual(a.truth, b.truth);
  t.not(sha256(a.dumpPath), sha256(c.dumpPath));
  t.not(a.truth.kernel.base, c.truth.kernel.base);
});

test('sizes and headers of every form', (t) => {
  for (const form of ['full', 'bitmap', 'active', 'kernel', 'raw'] as const) {
    const r = gen(`hdr-${form}`, form, { size: 24 });
    const size = statSync(r.dumpPath).size;
    t.is(size, r.truth.memory.fileSize, form);
    t.is(r.bytesWritten, size, form);
    const m = new FileMemory(r.dumpPath, form);
    const h = m.read(0, 0x2000);
    if (form === 'raw') {
      t.is(size, 24 * MiB);
      m.close();
      continue;
    }
    t.is(h.toString('latin1', 0, 8), 'PAGEDU64', form);
    t.is(h.readUInt32LE(0x0c), r.truth.build, form);
    t.is(h.readUInt32LE(0x30), 0x8664, form);
    t.is(h.readUInt32LE(0xf98), r.truth.dumpType!, form);
    t.is(Number(h.readBigUInt64LE(0xfa0)), size, `${form} RequiredDumpSpace`);
    t.is('0x' + h.readBigUInt64LE(0x10).toString(16), r.truth.kernel.dtb, form);
    t.is('0x' + h.readBigUInt64LE(0x28).toString(16), r.truth.kernel.psActiveProcessHead, form);
    t.is('0x' + h.readBigUInt64LE(0x20).toString(16), r.truth.kernel.psLoadedModuleList, form);
    t.is('0x' + h.readBigUInt64LE(0x80).toString(16), r.truth.kernel.kdDebuggerDataBlock, form);
    t.is(iso(h.readBigUInt64LE(0xfa8)), r.truth.systemTime, form);
    // kdmp-parser's CONTEXT sanity check.
    t.is(h.readUInt32LE(0x348 + 0x34), h.readUInt32LE(0x348 + 0x118), form);
    if (form === 'full') {
      const runs = h.readUInt32LE(0x88);
      t.true(runs >= 3, 'at least one hole between runs');
      t.is(Number(h.readBigUInt64LE(0x90)), r.truth.memory.storedPages);
      t.is(size, 0x2000 + r.truth.memory.storedPages * 4096);
      t.true(r.truth.memory.holes.some((x) => x.reason === 'vtl1-reserved'));
    } else {
      t.is(h.toString('latin1', 0x88, 0x8c), 'PAGE', `${form}: run table left as PAGE filler`);
    }
    if (form === 'bitmap' || form === 'active') {
      const b = m.read(0x2000, 0x38);
      t.is(b.toString('latin1', 0, 8), form === 'bitmap' ? 'FDMPDUMP' : 'SDMPDUMP');
      const first = Number(b.readBigUInt64LE(0x20));
      const present = Number(b.readBigUInt64LE(0x28));
      t.is(Number(b.readBigUInt64LE(0x30)), r.truth.memory.pageLimit);
      t.is(m.offsets.size, present, 'set bits = TotalPresentPages');
      t.is(first + present * 4096, size);
    }
    if (form === 'active') t.true(r.truth.memory.excludedUserPids.length > 0);
    if (form === 'kernel') {
      const k = m.read(0x2000, 0x20);
      t.is(k.readUInt32LE(0), 0x40);
      t.is(k.toString('latin1', 4, 12), 'RDMPDUMP');
      // kdmp-parser: MetadataSize - 0x20 == FirstPageOffset - 0x2040.
      t.is(Number(k.readBigUInt64LE(0x10)) - 0x20, Number(k.readBigUInt64LE(0x18)) - 0x2040);
      t.is(m.offsets.size, r.truth.memory.storedPages);
      t.true(size < 24 * MiB / 2, 'a kernel dump holds far less than memory');
    }
    m.close();
  }
});

test('the truth matches the dump: processes read back through the page tables with the ISF offsets', (t) => {
  for (const form of ['full', 'bitmap', 'raw', 'kernel'] as const) {
    const r = gen(`read-${form}`, form, { size: 32, seed: 5 });
    const types = isfFor(r.truth);
    const off = (p: string) => types.field('_EPROCESS', p)!.offset;
    const m = new FileMemory(r.dumpPath, form);
    const dtb = Number(r.truth.kernel.dtb);
    for (const p of r.truth.processes) {
      const va = BigInt(p.eprocess.va);
      t.is(m.translate(dtb, va), Number(p.eprocess.pa), `${form} pid ${p.pid} PA`);
      if (p.eprocess.fileOffset !== null && form !== 'raw') {
        t.is(m.offsets.get(Math.floor(Number(p.eprocess.pa) / 4096))! + (Number(p.eprocess.pa) % 4096), p.eprocess.fileOffset);
      }
      const ep = m.readVa(dtb, va, types.structSize('_EPROCESS')!)!;
      t.truthy(ep, `${form} pid ${p.pid} readable`);
      t.is(Number(ep.readBigUInt64LE(off('UniqueProcessId'))), p.pid);
      t.is(Number(ep.readBigUInt64LE(off('InheritedFromUniqueProcessId'))), p.ppid);
      const name = ep.subarray(off('ImageFileName'), off('ImageFileName') + 15);
      t.is(name.subarray(0, name.indexOf(0) < 0 ? 15 : name.indexOf(0)).toString('hex'), p.imageFileNameHex);
      t.is(iso(ep.readBigUInt64LE(off('CreateTime'))), p.createTime);
      t.is(iso(ep.readBigUInt64LE(off('ExitTime'))), p.exitTime);
      t.is('0x' + ep.readBigUInt64LE(types.field('_EPROCESS', 'Pcb.DirectoryTableBase')!.offset).toString(16), p.dtb);
      t.is(ep[off('Protection')], p.protection);
      const secure = types.field('_EPROCESS', 'Pcb.SecureState') ?? types.field('_EPROCESS', 'Pcb.SecurePid');
      t.is(ep.readBigUInt64LE(secure!.offset) !== 0n, p.secure, `pid ${p.pid} secure marker`);
      // Pool header 'Proc' and the encoded object type index (Windows 10 scheme).
      const ph = m.readVa(dtb, BigInt(p.poolHeaderVa), 16)!;
      t.is(ph.toString('latin1', 4, 8), 'Proc');
      t.true(ph[2] * 16 >= types.structSize('_EPROCESS')!);
      const ohVa = va - BigInt(types.field('_OBJECT_HEADER', 'Body')!.offset);
      const oh = m.readVa(dtb, ohVa, 0x30)!;
      t.is(oh[0x18] ^ r.truth.kernel.obHeaderCookie ^ Number((ohVa >> 8n) & 0xffn), r.truth.kernel.processTypeIndex);
      // Full image path through SeAuditProcessCreationInfo.
      const ni = ep.readBigUInt64LE(off('SeAuditProcessCreationInfo'));
      const us = m.readVa(dtb, ni, 16)!;
      const path = m.readVa(dtb, us.readBigUInt64LE(8), us.readUInt16LE(0))!;
      t.is(path.toString('utf16le'), p.imagePath);
    }
    // PsActiveProcessHead walk gives the truth's list order.
    const aplOff = BigInt(types.field('_EPROCESS', 'ActiveProcessLinks')!.offset);
    const pidOff = types.field('_EPROCESS', 'UniqueProcessId')!.offset;
    const head = BigInt(r.truth.kernel.psActiveProcessHead);
    const order: number[] = [];
    for (let link = m.readVa(dtb, head, 8)!.readBigUInt64LE(0); link !== head && order.length < 100; ) {
      order.push(Number(m.readVa(dtb, link - aplOff + BigInt(pidOff), 8)!.readBigUInt64LE(0)));
      link = m.readVa(dtb, link, 8)!.readBigUInt64LE(0);
    }
    t.deepEqual(order, r.truth.listOrder, form);
    m.close();
  }
});

test('kernel discovery facts: self-map, PE with the ISF\'s RSDS, decoded KDBG, decoys', (t) => {
  const r = gen('disc', 'raw', { size: 32, seed: 9 });
  const m = new FileMemory(r.dumpPath, 'raw');
  const dtb = Number(r.truth.kernel.dtb);
  const pml4 = m.page(dtb / 4096)!;
  const self = pml4.readBigUInt64LE(r.truth.kernel.selfRefIndex * 8);
  t.is(Number(self & 0x000ffffffffff000n), dtb);
  t.true(r.truth.kernel.selfRefIndex >= 0x100 && r.truth.kernel.selfRefIndex < 0x1ff);
  // Low stub: MemProcFS's signature, a kernel entry and the DTB.
  const stub = m.page(Number(r.truth.kernel.lowStub) / 4096)!;
  t.is(stub.readBigUInt64LE(0) & 0x00ffffffffff00ffn, 0x00000001000600e9n);
  t.is(stub.readBigUInt64LE(0x70) & 0xfffff80000000003n, 0xfffff80000000000n);
  t.is(Number(stub.readBigUInt64LE(0xa0)), dtb);
  const base = BigInt(r.truth.kernel.base);
  t.is(base & 0x1fffffn, 0n);
  t.true(base >= 0xfffff80000000000n && base < 0xfffff80800000000n);
  const mz = m.readVa(dtb, base, 0x1000)!;
  t.is(mz.toString('latin1', 0, 2), 'MZ');
  const pe = mz.readUInt32LE(0x3c);
  t.is(mz.toString('latin1', pe, pe + 4), 'PE\0\0');
  t.is(mz.readUInt16LE(pe + 4), 0x8664);
  const dd = pe + 24 + 112 + 6 * 8;
  const dbg = m.readVa(dtb, base + BigInt(mz.readUInt32LE(dd)), 0x1c)!;
  t.is(dbg.readUInt32LE(12), 2);
  const rsds = m.readVa(dtb, base + BigInt(dbg.readUInt32LE(20)), dbg.readUInt32LE(16))!;
  t.is(rsds.toString('latin1', 0, 4), 'RSDS');
  const guid =
    rsds.readUInt32LE(4).toString(16).padStart(8, '0') + rsds.readUInt16LE(8).toString(16).padStart(4, '0') + rsds.readUInt16LE(10).toString(16).padStart(4, '0') + rsds.subarray(12, 20).toString('hex');
  t.is(`${guid.toUpperCase()}-${rsds.readUInt32LE(20)}`, r.truth.pdb.guidAge);
  t.is(rsds.toString('latin1', 24, rsds.length - 1), 'ntkrnlmp.pdb');
  const kdbg = m.readVa(dtb, BigInt(r.truth.kernel.kdDebuggerDataBlock), 0x60)!;
  t.is(kdbg.toString('latin1', 0x10, 0x14), 'KDBG');
  t.is(kdbg.readUInt32LE(0x14), 0x368);
  t.is(kdbg.readBigUInt64LE(0x18), base);
  t.is('0x' + kdbg.readBigUInt64LE(0x48).toString(16), r.truth.kernel.psLoadedModuleList);
  t.is('0x' + kdbg.readBigUInt64LE(0x50).toString(16), r.truth.kernel.psActiveProcessHead);
  t.true(r.truth.decoys.length >= 4);
  for (const d of r.truth.decoys) {
    const pa = Number(d.pa);
    const page = m.page(Math.floor(pa / 4096))!;
    const at = (pa % 4096) + (d.kind === 'tag-only' ? 4 : 4);
    t.is(page.toString('latin1', at, at + 4), 'Proc', d.kind);
  }
  m.close();
});

test('secure page classes follow the scenario and the form', (t) => {
  const cases: [string, Form, Truth["vsm"]["verdict"], Partial<Record<string, number>>][] = [
    ['vsm-credential-guard', 'full', 'isolated', { pagesReadable: 0, pagesUnreadable: 0 }],
    ['vsm-credential-guard', 'raw', 'isolated', { pagesReadable: 0, pagesAbsent: 0 }],
    ['vsm-trustlet-zero', 'full', 'isolated', { pagesReadable: 0, pagesAbsent: 0 }],
    ['vsm-trustlet-readable', 'bitmap', 'exposed', { pagesAbsent: 0, pagesUnreadable: 0 }],
    ['vsm-credential-guard', 'kernel', 'indeterminate', { pagesReadable: 0 }],
    ['vsm-off', 'full', 'not-running', {}],
  ];
  for (const [scenario, form, verdict, counts] of cases) {
    const r = gen(`cls-${scenario}-${form}`, form, { scenario, size: 16 });
    t.is(r.truth.vsm.verdict, verdict, `${scenario} ${form}`);
    const lsaiso = r.truth.processes.find((p) => p.name === 'LsaIso.exe');
    if (!lsaiso) {
      t.is(scenario, 'vsm-off');
      t.false(r.truth.processes.some((p) => p.secure));
      continue;
    }
    t.true(lsaiso.secure);
    t.deepEqual(lsaiso.trustlet, { id: 1, name: 'LsaIso.exe', idSource: 'name' });
    const c = lsaiso.pages;
    t.is(c.pagesMapped, c.pagesNotResident + c.pagesAbsent + c.pagesUnreadable + c.pagesReadable);
    t.true(c.pagesMapped > 0);
    for (const [k, v] of Object.entries(counts)) t.is((c as unknown as Record<string, number>)[k], v!, `${scenario} ${form} ${k}`);
    // Check the classes against the bytes: every resident LsaIso page in the file is zero/constant unless readable.
    const m = new FileMemory(r.dumpPath, form);
    let readable = 0;
    let unreadable = 0;
    const dtb = Number(lsaiso.dtb);
    const walk = (pfn: number, level: number, va: bigint) => {
      const tbl = m.page(pfn);
      if (!tbl) return;
      for (let i = 0; i < 512; i++) {
        if (level === 4 && i >= 256) break;
        const e = tbl.readBigUInt64LE(i * 8);
        if (e === 0n) continue;
        const v = va | (BigInt(i) << BigInt(12 + 9 * (level - 1)));
        const frame = Number((e & 0x000ffffffffff000n) >> 12n);
        if (level > 1) {
          if (e & 1n) walk(frame, level - 1, v);
          continue;
        }
        if (!(e & 1n) && !(e & 0x800n)) continue;
        const page = m.page(frame);
        if (!page) continue;
        if (page.every((b) => b === page[0])) unreadable++;
        else readable++;
      }
    };
    walk(dtb / 4096, 4, 0n);
    t.is(readable, c.pagesReadable, `${scenario} ${form} readable from bytes`);
    t.is(unreadable, c.pagesUnreadable, `${scenario} ${form} unreadable from bytes`);
    m.close();
  }
});

test('truncated scenario: the file is cut and the truth lists what is missing', (t) => {
  const r = gen('trunc', 'full', { scenario: 'truncated', size: 32 });
  const tr = r.truth.memory.truncated!;
  t.truthy(tr);
  t.is(statSync(r.dumpPath).size, tr.fileSize);
  t.true(tr.fileSize < tr.fullFileSize);
  t.is(tr.missingPages, (tr.fullFileSize - tr.fileSize) / 4096);
  t.is(tr.missingRuns.reduce((a, x) => a + x.pageCount, 0), tr.missingPages);
  // Kernel structures survive the cut.
  for (const p of r.truth.processes) t.not(p.eprocess.fileOffset, null);
});

test('hostile names are kept as bytes, cut at 15 in ImageFileName', (t) => {
  const r = gen('hostile', 'raw', { scenario: 'hostile-names', size: 16 });
  const img = r.truth.processes.find((p) => p.pid === 7904)!;
  t.is(img.name, '<img src=x oner');
  t.true(img.imagePath.includes('<img src=x onerror=alert(1)><script>'));
  const ansi = r.truth.processes.find((p) => p.pid === 7948)!;
  t.is(ansi.imageFileNameHex.slice(0, 2), '1b');
  t.is(ansi.name, '\x1b[31mevil.exe');
});

test('14393 layout: SecurePid and TrustletIdentity', (t) => {
  const r = gen('b14393', 'full', { scenario: 'build-14393', size: 16 });
  t.is(r.truth.build, 14393);
  const types = isfFor(r.truth);
  t.truthy(types.field('_EPROCESS', 'TrustletIdentity'));
  const lsaiso = r.truth.processes.find((p) => p.name === 'LsaIso.exe')!;
  t.deepEqual(lsaiso.trustlet, { id: 1, name: 'LsaIso.exe', idSource: 'eprocess' });
  const m = new FileMemory(r.dumpPath, 'full');
  const ep = m.readVa(Number(r.truth.kernel.dtb), BigInt(lsaiso.eprocess.va), types.structSize('_EPROCESS')!)!;
  t.is(Number(ep.readBigUInt64LE(types.field('_EPROCESS', 'TrustletIdentity')!.offset)), 1);
  t.not(ep.readBigUInt64LE(types.field('_EPROCESS', 'Pcb.SecurePid')!.offset), 0n);
  m.close();
});

test('a truncated kernel dump: the truth keeps only what a reader can reach', (t) => {
  const r = generate({ scenario: 'truncated', form: 'kernel', sizeBytes: 32 * MiB, seed: 4, out: `${TMP}trunc-kernel.dmp` });
  const tr = r.truth;
  t.truthy(tr.memory.truncated);
  const m = new FileMemory(r.dumpPath, 'kernel');
  const dtb = Number(tr.kernel.dtb);
  for (const p of tr.processes) {
    // `readable` means every page of the object resolves through tables that are in the file.
    const ok = m.readVa(dtb, BigInt(p.poolHeaderVa), Number(BigInt(p.eprocess.va) - BigInt(p.poolHeaderVa)) + isfFor(tr).structSize('_EPROCESS')!) !== undefined;
    t.is(p.eprocess.readable, ok, `pid ${p.pid}`);
  }
  t.true(tr.poolObjects.length < tr.processes.length);
  for (const pid of tr.poolObjects) t.false(tr.poolObjectsPartial.includes(pid));
  t.is(tr.vsm.verdict, 'indeterminate');
  const head = m.readVa(dtb, BigInt(tr.kernel.psActiveProcessHead), 16);
  if (!head) t.deepEqual(tr.listOrder, []);
  m.close();
});
