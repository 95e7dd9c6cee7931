import test from 'ava';
import { mkdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../src/errors.ts';
import { openDump } from '../src/dump/open.ts';
import { discoverKernel, observedRvas, findLowStub } from '../src/ntos/kernel.ts';
import { resolveKernelLayout } from '../src/ntos/symbols.ts';
import { EXPECTED_LOW_STUB_JMP, LOW_STUB_CR3, LOW_STUB_KERNEL_ENTRY } from '../src/dump/low-stub.ts';
import { sample, patch, buildTinyRaw, findAll } from './helpers/kernel-synth.ts';

const REAL = new URL('../../shared/data/real/', import.meta.url).pathname;
const FIX = new URL('./fixtures/pdb/', import.meta.url).pathname;
const TMP = new URL('./.tmp/kernel-discovery/', import.meta.url).pathname;
const NO_ENV = { ntSymbolPath: '', cacheDir: join(TMP, 'cache') };
rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });
// Generated dumps are tens of MiB each: leave nothing behind.
test.after.always(() => rmSync(TMP, { recursive: true, force: true }));
const hex = (v: bigint | number | undefined) => (v === undefined ? undefined : `0x${v.toString(16)}`);

test('real triage dump: header, KDBG copy and driver list give the kernel; the RSDS is not in it, and we say so', async (t) => {
  const d = openDump(join(REAL, 'triage_x64.dmp'));
  try {
    const k = discoverKernel(d);
    t.is(k.dtb, 0x1ad000);
    t.is(hex(k.kernelBase), '0xfffff8047ba00000');
    t.is(k.kernelSize, 0x1046000);
    t.is(k.build, 19041);
    t.is(hex(k.psActiveProcessHead), '0xfffff8047c61e200');
    t.is(hex(k.psLoadedModuleList), '0xfffff8047c62a390');
    t.is(hex(k.kdbg), '0xfffff8047c600b20');
    t.is(k.pdb, undefined);
    t.is(k.vm, undefined);
    t.is(k.method, 'triage-header+kdbg');
    // The first page of ntoskrnl is among the saved blocks: its PE header names the image on a symbol server.
    t.deepEqual(k.pe, { timeDateStamp: 0x0d8333e6, sizeOfImage: 0x1046000, imageStorePath: 'ntoskrnl.exe/0D8333E61046000/ntoskrnl.exe' });
    t.true(k.evidence.some((e) => e.includes('\\SystemRoot\\system32\\ntoskrnl.exe')));
    t.true(k.problems.some((p) => /debug directory .*not among the \d+ virtual-memory blocks/.test(p)));
    // RVAs as ../shared/data/real/SOURCES.md derives them.
    t.deepEqual(observedRvas(k), { PsActiveProcessHead: 0xc1e200, PsLoadedModuleList: 0xc2a390, KdDebuggerDataBlock: 0xc00b20 });
    const r = await resolveKernelLayout(k, NO_ENV);
    t.false(r.exact);
    t.deepEqual(r.layout.source, { kind: 'builtin', key: '5278AFF86C341677D7D7835C85B7B844-1', exact: false });
    t.is(r.layout.version, '10.0.19041.804');
    t.is(r.layout.fields['EPROCESS.UniqueProcessId']?.offset, 0x440);
  } finally {
    d.close();
  }
});

for (const kernel of ['DBBC830E3E9A48FDA25A2144C146930E-1', '606FF669409B00F7FC8C61A9C1670129-1', '0CE4A95C0CD782A7596B034D8648E585-1']) {
  for (const form of ['full', 'bitmap', 'kernel', 'raw'] as const) {
    test(`synthetic ${form} dump, kernel ${kernel}: discovery equals the generator's ground truth`, async (t) => {
      const s = sample(TMP, kernel, form);
      const d = openDump(s.path);
      try {
        const k = discoverKernel(d);
        const tk = s.truth.kernel;
        t.is(hex(k.dtb), tk.dtb);
        t.is(hex(k.kernelBase), tk.base);
        t.is(k.kernelSize, tk.sizeOfImage);
        t.deepEqual(k.pdb, { name: 'ntkrnlmp.pdb', guid: s.truth.pdb.guid, age: s.truth.pdb.age });
        t.is(k.build, s.truth.build);
        if (form === 'raw') {
          t.regex(k.method, /^raw:(self-map|low-stub)\+pe-scan$/);
          t.is(k.psActiveProcessHead, undefined);
        } else {
          t.is(k.method, 'crash-header+kdbg');
          t.is(hex(k.psActiveProcessHead), tk.psActiveProcessHead);
          t.is(hex(k.kdbg), tk.kdDebuggerDataBlock);
          t.true(k.evidence.some((e) => e.startsWith('KDBG at')));
        }
        // Symbols come from the built-in table (exact GUID-age), and fill what a raw image lacks.
        const r = await resolveKernelLayout(k, NO_ENV);
        t.true(r.exact);
        t.deepEqual(r.layout.source, { kind: 'builtin', key: s.truth.pdb.guidAge, exact: true });
        t.is(hex(r.kernel.psActiveProcessHead), tk.psActiveProcessHead);
        t.is(hex(r.kernel.psLoadedModuleList), tk.psLoadedModuleList);
      } finally {
        d.close();
      }
    });
  }
}

test('raw image: the low stub gives the DTB when present; a bogus one is noted and the self-map is used', (t) => {
  const s = sample(TMP, '606FF669409B00F7FC8C61A9C1670129-1', 'raw');
  const stubbed = join(TMP, 'stub.raw');
  copyFileSync(s.path, stubbed);
  // PROCESSOR_START_BLOCK at physical 0x1000 (page 0 is a firmware hole in the sample): jmp, CR3 at +0xA0.
  const blk = Buffer.alloc(0x100);
  blk.writeBigUInt64LE(EXPECTED_LOW_STUB_JMP, 0);
  blk.writeBigUInt64LE(BigInt(s.truth.kernel.base) + 0x1000n, LOW_STUB_KERNEL_ENTRY);
  blk.writeBigUInt64LE(BigInt(s.truth.kernel.dtb), LOW_STUB_CR3);
  patch(stubbed, 0x1000, blk);
  let d = openDump(stubbed);
  try {
    t.deepEqual(findLowStub(d.physical!), { pfn: 1, cr3: Number(s.truth.kernel.dtb), entry: BigInt(s.truth.kernel.base) + 0x1000n });
    const k = discoverKernel(d);
    t.is(k.method, 'raw:low-stub+pe-scan');
    t.is(hex(k.dtb), s.truth.kernel.dtb);
  } finally {
    d.close();
  }
  // A low stub whose CR3 maps no kernel (here: a free page) must not win.
  const bad = Buffer.alloc(8);
  bad.writeBigUInt64LE(0x2000n);
  patch(stubbed, 0x10a0, bad);
  d = openDump(stubbed);
  try {
    const k = discoverKernel(d);
    t.is(k.method, 'raw:self-map+pe-scan');
    t.true(k.problems.some((p) => p.includes("low stub's CR3 0x2000 maps no kernel image")));
    t.is(hex(k.kernelBase), s.truth.kernel.base);
  } finally {
    d.close();
  }
});

test('raw image that is not Windows: BadInputError "no Windows x64 kernel found"', (t) => {
  const junk = join(TMP, 'junk.raw');
  const b = Buffer.alloc(4 * 2 ** 20);
  let x = 0x12345678;
  for (let i = 0; i < b.length; i += 4) {
    x = (x * 1103515245 + 12345) >>> 0;
    b.writeUInt32LE(x, i);
  }
  writeFileSync(junk, b);
  for (const f of [junk]) {
    const d = openDump(f);
    try {
      const e = t.throws(() => discoverKernel(d), { instanceOf: BadInputError });
      t.regex(e!.message, /^no Windows x64 kernel found/);
      t.is(e!.exitCode, 2);
    } finally {
      d.close();
    }
  }
  const zeros = join(TMP, 'zeros.raw');
  writeFileSync(zeros, Buffer.alloc(2 * 2 ** 20));
  const d = openDump(zeros);
  try {
    t.throws(() => discoverKernel(d), { instanceOf: BadInputError, message: /no Windows x64 kernel found/ });
  } finally {
    d.close();
  }
});

test('hand-built raw image: kernel at a 4 KiB-aligned base found by the 4 KiB pass; the LLVM PDB gives its RVAs', async (t) => {
  const path = join(TMP, 'tiny.raw');
  const base = 0xfffff8057c245000n;
  buildTinyRaw(path, base, 26100);
  const d = openDump(path);
  try {
    const k = discoverKernel(d);
    t.is(k.dtb, 0x1000);
    t.is(k.kernelBase, base);
    t.deepEqual(k.pdb, { name: 'ntkrnlmp.pdb', guid: 'ECE13B796CA55D704C4C44205044422E', age: 1 });
    t.is(k.build, 26100);
    t.true(k.evidence.some((e) => e.includes('maps itself at index 493')));
    // Unknown to the table (a made-up build and LLVM GUID): a miss, exit code 4, with what to fetch.
    const miss = await t.throwsAsync(resolveKernelLayout(k, NO_ENV));
    t.is((miss as { exitCode?: number }).exitCode, 4);
    t.regex(miss!.message, /ntkrnlmp\.pdb\/ECE13B796CA55D704C4C44205044422E1\/ntkrnlmp\.pdb/);
    const r = await resolveKernelLayout(k, { ...NO_ENV, symbols: [join(FIX, 'ntkrnlmp.pdb')] });
    t.true(r.exact);
    t.is(r.layout.source.kind, 'pdb');
    t.is(r.kernel.psActiveProcessHead, base + 0x3000n);
    t.true(r.kernel.evidence.some((e) => e.includes('= kernel base + RVA 0x3000 from symbols')));
  } finally {
    d.close();
  }
});

test('crash dump whose KDBG is encoded: the module list gives the base; with that damaged too, the PE scan', (t) => {
  const s = sample(TMP, '606FF669409B00F7FC8C61A9C1670129-1', 'full');
  const path = join(TMP, 'encoded-kdbg.dmp');
  copyFileSync(s.path, path);
  const tags = findAll(path, Buffer.from('KDBG', 'latin1'));
  t.is(tags.length, 1, 'the sample holds one KDBG tag (its filler never writes one)');
  patch(path, tags[0], Buffer.from('\x8a\x13\xf0\x5c', 'latin1')); // what an encoded block looks like: no tag
  let d = openDump(path);
  try {
    const k = discoverKernel(d);
    t.is(k.method, 'crash-header+module-list');
    t.is(hex(k.kernelBase), s.truth.kernel.base);
    t.true(k.problems.some((p) => /not tagged KDBG/.test(p)));
    t.is(k.pdb?.guid, s.truth.pdb.guid);
  } finally {
    d.close();
  }
  const bogus = Buffer.alloc(8);
  bogus.writeBigUInt64LE(0xfffff80000002000n);
  patch(path, 0x20, bogus); // DUMP_HEADER64.PsLoadedModuleList
  d = openDump(path);
  try {
    const k = discoverKernel(d);
    t.is(k.method, 'crash-header+pe-scan');
    t.is(hex(k.kernelBase), s.truth.kernel.base);
    t.is(k.pdb?.guid, s.truth.pdb.guid);
  } finally {
    d.close();
  }
});
