import test from 'ava';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDump } from '../src/dump/open.ts';
import { IsfTypes, loadIsfFile } from '../src/ntos/isf.ts';
import { inferLayout } from '../src/ntos/infer.ts';
import { discoverKernel, KUSER_SHARED_DATA, KUSER_NT_BUILD_NUMBER } from '../src/ntos/kernel.ts';
import { layoutFromIsf, type KernelLayout } from '../src/ntos/layout.ts';
import { KernelSymbolsNeededError, resolveKernelLayout } from '../src/ntos/symbols.ts';
import { sample, scenario, unknownKernelCopy, patch } from './helpers/kernel-synth.ts';

const ISF = new URL('../../shared/data/isf/windows/ntkrnlmp.pdb/', import.meta.url).pathname;
const TMP = new URL('./.tmp/kernel-infer/', import.meta.url).pathname;
rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });
// Generated dumps are tens of MiB each: leave nothing behind.
test.after.always(() => rmSync(TMP, { recursive: true, force: true }));
const hex = (v: bigint | number | undefined) => (v === undefined ? undefined : `0x${v.toString(16)}`);
/** A GUID no symbol source has: not in the built-in table, not in ../shared, not on any server we run. */
const UNSEEN = 'A11CE0FF0000000000000000DEADBEEF';
const NO_SYMBOLS = (dir: string) => ({ ntSymbolPath: '', cacheDir: join(TMP, dir) });

function isfLayout(guidAge: string): KernelLayout {
  return layoutFromIsf(new IsfTypes(loadIsfFile(join(ISF, `${guidAge}.json.xz`))), { kind: 'isf', path: guidAge });
}

const KERNELS = [
  ['DBBC830E3E9A48FDA25A2144C146930E-1', 15063], // 14393 layout, reported as an unseen pre-17763 build: SecurePid
  ['1D4090613BF97F9B9529992E20E93897-1', 26100],
  ['DCA4AD4BEEB4746D48F84C0125019E43-1', 26100],
  ['5278AFF86C341677D7D7835C85B7B844-1', 26100],
  ['606FF669409B00F7FC8C61A9C1670129-1', 26100],
  ['B3ED6FA26A1FD6DF6A34DF3B125CAFE8-1', 26100],
  ['0CE4A95C0CD782A7596B034D8648E585-1', 26100],
] as const;

for (const [guidAge, build] of KERNELS) {
  test(`unseen kernel (layout of ${guidAge}, made-up GUID, build ${build}): offsets inferred, marked, equal to the real ISF`, async (t) => {
    const s = sample(TMP, guidAge, 'full');
    const path = unknownKernelCopy(s, join(TMP, `${guidAge}-unseen.dmp`), UNSEEN, build);
    const d = openDump(path);
    try {
      const k = discoverKernel(d);
      t.deepEqual(k.pdb, { name: 'ntkrnlmp.pdb', guid: UNSEEN, age: 1 });
      t.is(k.build, build);
      const r = await resolveKernelLayout(k, NO_SYMBOLS(`c-${guidAge}`));
      // Every symbol source was asked and missed; then the data.
      t.deepEqual(
        r.tried.map((x) => `${x.step}:${x.result}`),
        ['cache:not-found', 'builtin:not-found', 'server:skipped', 'builtin-build:not-found', 'inferred:matched'],
      );
      t.false(r.exact);
      t.is(r.layout.source.kind, 'inferred');
      t.regex(r.source, /^inferred from the data/);
      const want = isfLayout(guidAge);
      const keys = ['EPROCESS.UniqueProcessId', 'EPROCESS.ActiveProcessLinks', 'EPROCESS.ImageFileName', 'KPROCESS.DirectoryTableBase', 'EPROCESS.InheritedFromUniqueProcessId', 'EPROCESS.CreateTime', 'EPROCESS.Protection'] as const;
      for (const key of keys) t.is(r.layout.fields[key]?.offset, want.fields[key]?.offset, key);
      // The marker: SecureState (17763+) or SecurePid (the 14393 layout) at the real offset, confirmed.
      const marker = want.fields['KPROCESS.SecureState'] ? 'KPROCESS.SecureState' : 'KPROCESS.SecurePid';
      t.is(r.layout.fields[marker]?.offset, want.fields[marker]?.offset, marker);
      t.true(r.inference!.evidence.some((e) => e.startsWith(`${marker} +`) && e.includes('confirmed')));
      // Every field in the layout is listed as inferred.
      t.deepEqual([...(r.layout.inferred ?? [])].sort(), Object.keys(r.layout.fields).sort());
      t.deepEqual(r.layout.symbols, {});
      // The walk is the linked processes of the ground truth, in list order.
      const linked = s.truth.processes.filter((p) => p.linked);
      t.deepEqual(
        r.inference!.processes.map((p) => `${p.pid} ${p.name} ${hex(p.eprocess)}`),
        s.truth.listOrder.map((pid) => linked.find((p) => p.pid === pid)!).map((p) => `${p.pid} ${p.name.slice(0, 15)} ${p.eprocess.va}`),
      );
    } finally {
      d.close();
    }
  });
}

test('raw image of an unseen kernel: System found in physical memory, the list head from its Blink', async (t) => {
  const s = sample(TMP, '606FF669409B00F7FC8C61A9C1670129-1', 'raw');
  const path = unknownKernelCopy(s, join(TMP, 'raw-unseen.raw'), UNSEEN);
  // KUSER_SHARED_DATA is where a raw image's build comes from: make it an unseen one too.
  let d = openDump(path);
  const kuser = discoverKernel(d).vm!.translate(KUSER_SHARED_DATA + BigInt(KUSER_NT_BUILD_NUMBER));
  d.close();
  t.true(kuser.ok);
  const b = Buffer.alloc(4);
  b.writeUInt32LE(26100);
  patch(path, (kuser as { pa: number }).pa, b);
  d = openDump(path);
  try {
    const k = discoverKernel(d);
    t.is(k.build, 26100);
    t.is(k.psActiveProcessHead, undefined);
    const r = await resolveKernelLayout(k, NO_SYMBOLS('c-raw'));
    t.is(r.layout.source.kind, 'inferred');
    t.is(hex(r.kernel.psActiveProcessHead), s.truth.kernel.psActiveProcessHead);
    t.is(hex(r.inference!.systemEprocess), s.truth.processes.find((p) => p.pid === 4)!.eprocess.va);
    t.true(r.inference!.evidence[0].startsWith('"System" found at physical'));
    t.is(r.layout.fields['EPROCESS.UniqueProcessId']?.offset, 0x440);
  } finally {
    d.close();
  }
});

test('raw image matched only by build (offsets, no RVAs): the list head comes from the data', async (t) => {
  const s = sample(TMP, '606FF669409B00F7FC8C61A9C1670129-1', 'raw');
  const path = unknownKernelCopy(s, join(TMP, 'raw-build.raw'), UNSEEN);
  const d = openDump(path);
  try {
    const k = discoverKernel(d);
    t.is(k.build, 19041);
    const r = await resolveKernelLayout(k, NO_SYMBOLS('c-rawb'));
    t.deepEqual(r.layout.source, { kind: 'builtin', key: 'build:19041', exact: false });
    t.is(hex(r.kernel.psActiveProcessHead), s.truth.kernel.psActiveProcessHead);
    t.false(r.kernel.problems.some((p) => p.includes('disagrees')));
  } finally {
    d.close();
  }
});

test('no VSM (no Secure System, no trustlet): the secure-process marker is refused, and the refusal says why', (t) => {
  const noVsm = scenario((sc) => ({ ...sc, name: 'no-vsm', processes: sc.processes.filter((p) => p.name !== 'Secure System' && p.name !== 'LsaIso.exe') }));
  const s = sample(TMP, '606FF669409B00F7FC8C61A9C1670129-1', 'full', { scenario: noVsm, tag: 'novsm' });
  const d = openDump(s.path);
  try {
    const inf = inferLayout(discoverKernel(d));
    t.truthy(inf.layout);
    t.is(inf.layout!.fields['KPROCESS.SecureState'], undefined);
    t.is(inf.layout!.fields['KPROCESS.SecurePid'], undefined);
    t.true(inf.refused.some((r) => /^secure-process marker not inferred: no "Secure System" or trustlet-named process/.test(r)));
    t.is(inf.layout!.fields['EPROCESS.ImageFileName']?.offset, 0x5a8);
  } finally {
    d.close();
  }
});

test('a process named LsaIso.exe that is not secure does not stop the marker being confirmed by Secure System', (t) => {
  const impostor = scenario((sc) => ({ ...sc, name: 'impostor', processes: sc.processes.map((p) => (p.name === 'LsaIso.exe' ? { ...p, secure: false, trustletId: undefined } : p)) }));
  const s = sample(TMP, '606FF669409B00F7FC8C61A9C1670129-1', 'full', { scenario: impostor, tag: 'impostor' });
  const d = openDump(s.path);
  try {
    const inf = inferLayout(discoverKernel(d));
    t.is(inf.layout!.fields['KPROCESS.SecureState']?.offset, 0x3e0);
    t.true(inf.evidence.some((e) => e.includes('LsaIso.exe(800)=clear') && e.includes('Secure System(72)=set')));
  } finally {
    d.close();
  }
});

test('when the data cannot be read either: exit code 4 with what to fetch, and the failed inference in the list', async (t) => {
  const s = sample(TMP, '606FF669409B00F7FC8C61A9C1670129-1', 'full');
  const path = unknownKernelCopy(s, join(TMP, 'broken-head.dmp'), UNSEEN, 26100);
  // PsActiveProcessHead in the header → a kernel address that holds no list (the KDBG still has the real one; take it away too).
  const bogus = Buffer.alloc(8);
  bogus.writeBigUInt64LE(0xfffff80000001000n);
  patch(path, 0x28, bogus);
  const d = openDump(path);
  try {
    const k = discoverKernel(d);
    t.is(hex(k.psActiveProcessHead), '0xfffff80000001000');
    t.true(k.problems.some((p) => p.includes('differs from the header')));
    const e = (await t.throwsAsync(resolveKernelLayout(k, NO_SYMBOLS('c-broken')), { instanceOf: KernelSymbolsNeededError })) as KernelSymbolsNeededError;
    t.is(e.exitCode, 4);
    t.is(e.wanted.storePath, `ntkrnlmp.pdb/${UNSEEN}1/ntkrnlmp.pdb`);
    const last = e.tried[e.tried.length - 1];
    t.is(last.step, 'inferred');
    t.is(last.result, 'not-found');
    t.regex(last.detail ?? '', /Flink is unreadable/);
  } finally {
    d.close();
  }
});
