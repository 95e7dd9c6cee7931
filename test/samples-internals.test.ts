// The generator's process internals (issue 12): threads + APCs, handle tables, tokens, VADs, debug
// port and the extended flags are in the dump as the truth says, on every real layout. The bytes are
// read back from raw images with a minimal page walker and the ISF's offsets (no analyzer code), and
// the tampered scenario's findings / the clean twin's absence of them are checked in the truth.
import test from 'ava';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generate, type Truth } from '../samples/generate.ts';
import { KNOWN_KERNELS, isfPathFor } from '../samples/kernels.ts';
import { loadScenario } from '../samples/scenario.ts';
import { TAMPER_RULE_LIST } from './helpers/tamper-rules.ts';
import { IsfTypes, loadIsfFile } from '../src/ntos/isf.ts';

const TMP = fileURLToPath(new URL('./.tmp/samples-internals/', import.meta.url));
rmSync(TMP, { recursive: true, force: true });
const MiB = 2 ** 20;
const TAMPER_RULES: string[] = [...TAMPER_RULE_LIST];
const hex = (v: bigint) => '0x' + v.toString(16);
const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** A raw image read through x64 4-level page tables (PA = file offset). */
class RawImage {
  private readonly fd: number;
  constructor(
    path: string,
    private readonly dtb: number,
  ) {
    this.fd = openSync(path, 'r');
  }
  private readonly pages = new Map<number, Buffer>();
  /** `n` bytes at physical address `at` (within one page), through a page cache. */
  private pa(at: number, n: number): Buffer {
    const pfn = Math.floor(at / 0x1000);
    let page = this.pages.get(pfn);
    if (!page) {
      page = Buffer.alloc(0x1000);
      readSync(this.fd, page, 0, 0x1000, pfn * 0x1000);
      this.pages.set(pfn, page);
    }
    return page.subarray(at % 0x1000, (at % 0x1000) + n);
  }
  private translate(va: bigint): number {
    let table = this.dtb;
    for (const shift of [39n, 30n, 21n, 12n]) {
      const e = this.pa(table + Number((va >> shift) & 0x1ffn) * 8, 8).readBigUInt64LE(0);
      if (!(e & 1n)) throw new Error(`unmapped ${hex(va)}`);
      const frame = Number(e & 0x000ffffffffff000n);
      if (shift !== 12n && e & 0x80n) return frame + Number(va & ((1n << shift) - 1n));
      table = frame;
      if (shift === 12n) return frame + Number(va & 0xfffn);
    }
    throw new Error('unreachable');
  }
  read(va: bigint, n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let done = 0; done < n; ) {
      const cur = va + BigInt(done);
      const k = Math.min(n - done, 0x1000 - Number(cur & 0xfffn));
      this.pa(this.translate(cur), k).copy(out, done);
      done += k;
    }
    return out;
  }
  u64(va: bigint): bigint {
    return this.read(va, 8).readBigUInt64LE(0);
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Offsets and bitfields by name from the ISF. */
function fields(types: IsfTypes) {
  const f = (s: string, p: string) => {
    const x = types.field(s, p);
    if (!x) throw new Error(`ISF lacks ${s}.${p}`);
    return x;
  };
  const bits = (buf: Buffer, s: string, p: string) => {
    const x = f(s, p);
    const raw = buf.readBigUInt64LE(x.offset) & (x.size >= 8 ? ~0n : (1n << BigInt(8 * x.size)) - 1n);
    return x.bitPosition === undefined ? raw : (raw >> BigInt(x.bitPosition)) & ((1n << BigInt(x.bitLength!)) - 1n);
  };
  return { off: (s: string, p: string) => f(s, p).offset, bits };
}

function sidText(b: Buffer): string {
  const n = b[1];
  const subs = Array.from({ length: n }, (_, i) => b.readUInt32LE(8 + 4 * i));
  return `S-${b[0]}-${b.readUIntBE(2, 6)}-${subs.join('-')}`;
}

function gen(name: string, scenario: string | ReturnType<typeof loadScenario>, isf: string, seed = 3) {
  return generate({ scenario, isf, form: 'raw', sizeBytes: 32 * MiB, seed, out: `${TMP}${name}.raw` });
}

/** Every internal of one process, read from the image, compared with the truth. */
function checkProcess(t: import('ava').ExecutionContext, img: RawImage, types: IsfTypes, truth: Truth, pid: number, label: string): void {
  const { off, bits } = fields(types);
  const p = truth.processes.find((x) => x.pid === pid)!;
  const ep = BigInt(p.eprocess.va);
  const epBuf = img.read(ep, types.structSize('_EPROCESS')!);
  const at = `${label} pid ${pid}`;
  // Threads on both lists, in order.
  const headVa = ep + BigInt(off('_EPROCESS', 'ThreadListHead'));
  const entry = BigInt(off('_ETHREAD', 'ThreadListEntry'));
  const threads: { tid: number; ethread: string; start: string; win32: string; create: bigint; apcs: { mode: number; kr: string; nr: string }[] }[] = [];
  for (let link = img.u64(headVa); link !== headVa && threads.length < 64; link = img.u64(link)) {
    const et = link - entry;
    const b = img.read(et, types.structSize('_ETHREAD')!);
    const apcs: { mode: number; kr: string; nr: string }[] = [];
    for (const mode of [0, 1]) {
      const h = et + BigInt(off('_ETHREAD', 'Tcb.ApcState.ApcListHead') + 16 * mode);
      for (let l = img.u64(h); l !== h && apcs.length < 8; l = img.u64(l)) {
        const kapc = img.read(l - BigInt(off('_KAPC', 'ApcListEntry')), types.structSize('_KAPC')!);
        t.is(kapc[off('_KAPC', 'ApcMode')], mode, `${at}: KAPC on the queue of its mode`);
        apcs.push({ mode, kr: hex(kapc.readBigUInt64LE(off('_KAPC', 'KernelRoutine'))), nr: hex(kapc.readBigUInt64LE(off('_KAPC', 'NormalRoutine'))) });
      }
    }
    t.is(b.readBigUInt64LE(off('_ETHREAD', 'Tcb.ApcState.Process')), ep, `${at}: ApcState.Process`);
    threads.push({ tid: Number(b.readBigUInt64LE(off('_ETHREAD', 'Cid.UniqueThread'))), ethread: hex(et), start: hex(b.readBigUInt64LE(off('_ETHREAD', 'StartAddress'))), win32: hex(b.readBigUInt64LE(off('_ETHREAD', 'Win32StartAddress'))), create: b.readBigUInt64LE(off('_ETHREAD', 'CreateTime')), apcs });
  }
  t.deepEqual(
    threads.map((x) => ({ tid: x.tid, ethread: x.ethread, start: x.start, win32: x.win32, apcs: x.apcs })),
    p.threads.map((x) => ({ tid: x.tid, ethread: x.ethread, start: x.startAddress, win32: x.win32StartAddress, apcs: x.apcs.map((a) => ({ mode: a.mode === 'kernel' ? 0 : 1, kr: a.kernelRoutine, nr: a.normalRoutine })) })),
    `${at}: threads and APCs`,
  );
  const kHead = ep + BigInt(off('_EPROCESS', 'Pcb.ThreadListHead'));
  const kThreads: string[] = [];
  for (let link = img.u64(kHead); link !== kHead && kThreads.length < 64; link = img.u64(link)) kThreads.push(hex(link - BigInt(off('_KTHREAD', 'ThreadListEntry'))));
  t.deepEqual(kThreads, p.threads.map((x) => x.ethread), `${at}: KPROCESS.ThreadListHead`);
  // Handle table: level, entries (OBJECT_HEADER >> 4 at bit 20, access in the low 25 bits of the second quadword).
  const table = epBuf.readBigUInt64LE(off('_EPROCESS', 'ObjectTable'));
  if (p.terminated) t.is(table, 0n, `${at}: no table once exited`);
  else {
    const code = img.u64(table + BigInt(off('_HANDLE_TABLE', 'TableCode')));
    const level = Number(code & 3n);
    const base = code & ~3n;
    const bodyOff = BigInt(off('_OBJECT_HEADER', 'Body'));
    const got = p.handles.map((h) => {
      const index = h.handle / 4;
      const page = Math.floor(index / 256);
      let leaf = base;
      if (level === 1) leaf = img.u64(base + BigInt(page * 8));
      if (level === 2) leaf = img.u64(img.u64(base + BigInt(Math.floor(page / 512) * 8)) + BigInt((page % 512) * 8));
      const e = img.read(leaf + BigInt((index % 256) * 16), 16);
      const header = ((e.readBigUInt64LE(0) >> 20n) << 4n) | 0xffff000000000000n;
      return { handle: h.handle, object: hex(header + bodyOff), access: e.readUInt32LE(8) & 0x1ffffff };
    });
    t.deepEqual(got, p.handles.map((h) => ({ handle: h.handle, object: h.object, access: h.grantedAccess })), `${at}: handle entries`);
    t.is(level, p.handles.length > 255 * 512 ? 2 : p.handles.length > 255 ? 1 : 0, `${at}: TableCode level`);
  }
  // Token (EX_FAST_REF), its SIDs, integrity entry and privilege masks.
  const tok = epBuf.readBigUInt64LE(off('_EPROCESS', 'Token')) & ~0xfn;
  const tb = img.read(tok, types.structSize('_TOKEN')!);
  const count = tb.readUInt32LE(off('_TOKEN', 'UserAndGroupCount'));
  const arr = tb.readBigUInt64LE(off('_TOKEN', 'UserAndGroups'));
  const sids = Array.from({ length: count }, (_, i) => {
    const sidVa = img.u64(arr + BigInt(16 * i));
    return sidText(img.read(sidVa, 8 + 4 * img.read(sidVa, 2)[1]));
  });
  t.deepEqual(sids, [p.token!.user.sid, ...p.token!.groups.map((g) => g.sid)], `${at}: UserAndGroups`);
  t.is(sids[tb.readUInt32LE(off('_TOKEN', 'IntegrityLevelIndex'))], p.token!.integrity!.sid, `${at}: integrity`);
  const present = tb.readBigUInt64LE(off('_TOKEN', 'Privileges.Present'));
  t.is(present.toString(2).split('1').length - 1, p.token!.privileges.length, `${at}: privileges present`);
  const pkg = tb.readBigUInt64LE(off('_TOKEN', 'Package'));
  t.is(pkg === 0n ? null : sidText(img.read(pkg, 8 + 4 * img.read(pkg, 2)[1])), p.token!.package?.sid ?? null, `${at}: package`);
  // Debug port, exit status, base priority and the flag fields.
  t.is(hex(epBuf.readBigUInt64LE(off('_EPROCESS', 'DebugPort'))), p.debugPort ?? '0x0', `${at}: DebugPort`);
  t.is(epBuf.readUInt32LE(off('_EPROCESS', 'ExitStatus')), p.exitStatus, `${at}: ExitStatus`);
  t.is(epBuf[off('_EPROCESS', 'Pcb.BasePriority')], p.basePriority, `${at}: BasePriority`);
  const x = p.extendedInfo as Record<string, boolean>;
  t.is(bits(epBuf, '_EPROCESS', 'ProcessDelete') === 1n, x.isProcessDeleting, `${at}: ProcessDelete`);
  t.is(bits(epBuf, '_EPROCESS', 'CrossSessionCreate') === 1n, x.isCrossSessionCreate, `${at}: CrossSessionCreate`);
  t.is(bits(epBuf, '_EPROCESS', 'Background') === 1n, x.isBackground, `${at}: Background`);
  t.is(bits(epBuf, '_EPROCESS', 'SubsystemProcess') === 1n, x.isSubsystemProcess, `${at}: SubsystemProcess`);
  t.is(bits(epBuf, '_EPROCESS', 'Pcb.DeepFreeze') === 1n && epBuf.readUInt32LE(off('_EPROCESS', 'Pcb.FreezeCount')) > 0, x.isFrozen, `${at}: frozen`);
  // VAD tree in order: start, end, protection index, private, file behind Subsection → ControlArea → FilePointer.
  const vads: { start: string; end: string; private: boolean; file: string | null }[] = [];
  const visit = (node: bigint, depth: number) => {
    if (node === 0n || depth > 40) return;
    const b = img.read(node, types.structSize('_MMVAD')!);
    visit(b.readBigUInt64LE(off('_MMVAD_SHORT', 'VadNode.Left')), depth + 1);
    const sv = (BigInt(b[off('_MMVAD_SHORT', 'StartingVpnHigh')]) << 32n) | BigInt(b.readUInt32LE(off('_MMVAD_SHORT', 'StartingVpn')));
    const evn = (BigInt(b[off('_MMVAD_SHORT', 'EndingVpnHigh')]) << 32n) | BigInt(b.readUInt32LE(off('_MMVAD_SHORT', 'EndingVpn')));
    const priv = bits(b, '_MMVAD_SHORT', 'u.VadFlags.PrivateMemory') === 1n;
    let file: string | null = null;
    if (!priv) {
      const ca = img.u64(b.readBigUInt64LE(off('_MMVAD', 'Subsection')) + BigInt(off('_SUBSECTION', 'ControlArea')));
      const fo = img.u64(ca + BigInt(off('_CONTROL_AREA', 'FilePointer'))) & ~0xfn;
      const us = img.read(fo + BigInt(off('_FILE_OBJECT', 'FileName')), 16);
      file = img.read(us.readBigUInt64LE(8), us.readUInt16LE(0)).toString('utf16le');
    }
    vads.push({ start: hex(sv << 12n), end: hex(((evn + 1n) << 12n) - 1n), private: priv, file });
    visit(b.readBigUInt64LE(off('_MMVAD_SHORT', 'VadNode.Right')), depth + 1);
  };
  visit(img.u64(ep + BigInt(off('_EPROCESS', 'VadRoot'))), 0);
  t.deepEqual(vads, p.vads.map((v) => ({ start: v.start, end: v.end, private: v.private, file: v.file })), `${at}: VAD tree`);
}

for (const k of KNOWN_KERNELS) {
  test(`tampered scenario on ${k.version}: threads, APCs, handles, token, VADs, flags in the image as the truth says`, (t) => {
    const r = gen(`tampered-${k.guidAge}`, 'vsm-trustlet-tampered', k.guidAge);
    const types = new IsfTypes(loadIsfFile(isfPathFor(k.guidAge)));
    const img = new RawImage(r.dumpPath, Number(r.truth.kernel.dtb));
    try {
      // LsaIso, the attacker, the dumper, explorer (RWX regions, > 256 handles), the packaged app, the Pico process, the deleted process.
      for (const pid of [800, 7420, 7516, 4188, 8840, 9012, 9232, 4392, 5116]) checkProcess(t, img, types, r.truth, pid, k.version);
    } finally {
      img.close();
      rmSync(r.dumpPath, { force: true });
    }
    const rules = new Set(r.truth.expectedFindings.map((f) => f.rule));
    for (const rule of TAMPER_RULES) t.true(rules.has(rule), `${k.version}: expected finding ${rule}`);
  });
}

test('the tampered truth names its evidence; the clean twin has the same processes and none of the tamper findings', (t) => {
  const tam = gen('tampered', 'vsm-trustlet-tampered', '19041').truth;
  const clean = gen('clean', 'vsm-trustlet-clean', '19041').truth;
  t.deepEqual(clean.processes.map((p) => p.pid), tam.processes.map((p) => p.pid));
  t.deepEqual(clean.expectedFindings.filter((f) => TAMPER_RULES.includes(f.rule)), []);
  const by = (rule: string) => tam.expectedFindings.filter((f) => f.rule === rule);
  t.deepEqual(by('vsm.trustlet-handle-access').map((f) => [f.pid, f.ownerPid, f.handle !== undefined]), [[800, 7420, true], [800, 7420, true]]);
  t.is(by('ntos.lsass-handle-access')[0].ownerPid, 7516);
  t.is(by('vsm.trustlet-kernel-apc')[0].module, 'vmfltr.sys');
  t.is(by('vsm.trustlet-user-apc')[0].module, null);
  const lsaIso = tam.processes.find((p) => p.pid === 800)!;
  const remote = by('vsm.trustlet-remote-thread')[0];
  t.is(lsaIso.threads.find((x) => x.tid === remote.tid)!.startModule, null);
  t.is(by('vsm.trustlet-debug-port')[0].address, lsaIso.debugPort!);
  t.deepEqual(by('ntos.injected-code').map((f) => f.pid).sort(), [4188, 4188, 800]);
  // One table past 256 handles; the nine flags of the special processes.
  t.true(tam.processes.some((p) => p.handles.length >= 257));
  const flags = (pid: number) => (tam.processes.find((p) => p.pid === pid)!.extendedInfo as { flags: number }).flags;
  t.is(flags(5116), 1 << 1);
  t.is(flags(9232), 1 << 2);
  t.is(flags(4392), 1 << 3);
  t.is(flags(8840), (1 << 4) | (1 << 5) | (1 << 6));
  t.is(flags(800), 1 << 7);
  t.is(flags(9012), 1 << 8);
  t.is(flags(812), 1 << 0);
});

test('same seed gives the same bytes and truth for the tampered scenario; another seed does not', (t) => {
  const a = gen('seed-a', 'vsm-trustlet-tampered', '22000', 11);
  const b = gen('seed-b', 'vsm-trustlet-tampered', '22000', 11);
  const c = gen('seed-c', 'vsm-trustlet-tampered', '22000', 12);
  t.is(sha256(a.dumpPath), sha256(b.dumpPath));
  t.is(sha256(a.truthPath), sha256(b.truthPath));
  t.not(sha256(a.dumpPath), sha256(c.dumpPath));
});

test('a level-2 handle table (more than 130,560 handles) reads back entry by entry', (t) => {
  const s = loadScenario('vsm-trustlet-tampered');
  s.processes.find((p) => p.pid === 7420)!.extraHandles = 131000;
  const r = gen('level2', s, '17763');
  const types = new IsfTypes(loadIsfFile(isfPathFor(KNOWN_KERNELS.find((k) => k.build === 17763)!.guidAge)));
  const img = new RawImage(r.dumpPath, Number(r.truth.kernel.dtb));
  try {
    t.true(r.truth.processes.find((p) => p.pid === 7420)!.handles.length > 255 * 512);
    checkProcess(t, img, types, r.truth, 7420, 'level 2');
  } finally {
    img.close();
  }
});

test('the resource scenario loads with 20,000 threads and 200,000 extra handles in one process', (t) => {
  const s = loadScenario('large/resource-handles-threads');
  const p = s.processes.find((x) => x.pid === 1452)!;
  t.is(p.threads, 20000);
  t.is(p.extraHandles, 200000);
  t.true((s.threadObjectCap ?? 0) >= 20000);
});
