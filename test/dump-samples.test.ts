// The evidence layer over the synthetic dumps of samples/ (another engineer's generator, real
// kernel layouts): the same header facts and the same bytes at sampled physical addresses across
// every form of one scenario, the ground truth's stored runs, virtual reads through the kernel's
// page tables, and a truncated dump's missing ranges.
import test from 'ava';
import { generate, type Form, type Truth } from '../samples/generate.ts';
import { openDump } from '../src/dump/open.ts';
import { X64VirtualMemory } from '../src/dump/x64.ts';
import { mergeRuns } from '../src/dump/physical.ts';
import type { Dump } from '../src/dump/types.ts';

const DIR = new URL('./.tmp/dump-samples/', import.meta.url).pathname;
const SIZE = 16 * 2 ** 20;
const FORMATS: Record<Form, Dump['format']> = { full: 'crash-full', bitmap: 'crash-bitmap', active: 'crash-live-kernel', kernel: 'crash-kernel', raw: 'raw' };

const made = new Map<string, { dump: Dump; truth: Truth }>();
function sample(form: Form, truncate: number | null = null): { dump: Dump; truth: Truth } {
  const key = `${form}-${truncate}`;
  let s = made.get(key);
  if (!s) {
    const r = generate({ scenario: 'vsm-credential-guard', form, sizeBytes: SIZE, seed: 7, out: `${DIR}${key}.dmp`, truncate });
    s = { dump: openDump(r.dumpPath), truth: r.truth };
    made.set(key, s);
  }
  return s;
}
const FORMS: Form[] = ['full', 'bitmap', 'active', 'kernel', 'raw'];

test.after.always(() => {
  for (const s of made.values()) s.dump.close();
});

test('every form: detected format, header facts and stored runs match the ground truth', (t) => {
  for (const form of FORMS) {
    const { dump, truth } = sample(form);
    t.is(dump.format, FORMATS[form], form);
    if (form !== 'raw') {
      const h = dump.header!;
      t.is(h.minorVersion, truth.build, form);
      t.is(`0x${h.directoryTableBase.toString(16)}`, truth.kernel.dtb, form);
      t.is(`0x${h.psActiveProcessHead.toString(16)}`, truth.kernel.psActiveProcessHead, form);
      t.is(`0x${h.psLoadedModuleList.toString(16)}`, truth.kernel.psLoadedModuleList, form);
      t.is(h.dumpType, truth.dumpType!, form);
    }
    const want = [...mergeRuns(truth.memory.storedRuns.map((r) => ({ ...r, fileOffset: 0 })))];
    t.deepEqual([...dump.physical!.runs()], want, form);
    t.is(dump.physical!.presentPages, truth.memory.storedPages, form);
    t.is(dump.partialByNature, form === 'active' || form === 'kernel', form);
  }
});

test('the same bytes at sampled physical addresses across full, bitmap, active, kernel and raw', (t) => {
  const forms = FORMS.map((f) => [f, sample(f).dump.physical!] as const);
  const full = sample('full').dump.physical!;
  let compared = 0;
  for (const run of full.runs()) {
    for (let pfn = run.basePage; pfn < run.basePage + run.pageCount; pfn += 29) {
      const ref = full.readPage(pfn)!;
      for (const [form, p] of forms) {
        const page = p.readPage(pfn);
        if (!page) {
          t.true(form === 'kernel' || form === 'active', `${form} lacks page ${pfn}`);
          continue;
        }
        if (!page.equals(ref)) t.fail(`${form} page 0x${pfn.toString(16)} differs`);
        compared++;
      }
      const pa = pfn * 4096 + 0x7f9; // an unaligned read crossing nothing
      t.deepEqual(sample('bitmap').dump.physical!.read(pa, 16).data, ref.subarray(0x7f9, 0x809));
    }
  }
  t.true(compared > 400, `${compared}`);
});

test('virtual memory: the kernel page tables translate every EPROCESS the truth lists', (t) => {
  for (const form of ['full', 'bitmap', 'raw'] as const) {
    const { dump, truth } = sample(form);
    const vm = new X64VirtualMemory(dump.physical!, BigInt(truth.kernel.dtb));
    let checked = 0;
    for (const p of truth.processes) {
      const tr = vm.translate(BigInt(p.eprocess.va));
      if (!tr.ok) continue;
      t.is(`0x${tr.pa.toString(16)}`, p.eprocess.pa, `${form} pid ${p.pid}`);
      if (truth.build === 19041) {
        // ImageFileName at +0x5a8 on 19041 (../shared/docs/formats.md §6).
        const name = vm.read(BigInt(p.eprocess.va) + 0x5a8n, p.imageFileNameHex.length / 2);
        t.is(name?.toString('hex'), p.imageFileNameHex, `${form} pid ${p.pid}`);
      }
      checked++;
    }
    t.true(checked >= truth.processes.length - 2, `${form}: ${checked}/${truth.processes.length}`);
    // The head's Flink is a canonical kernel address.
    const flink = vm.readU64(BigInt(truth.kernel.psActiveProcessHead));
    t.truthy(flink && flink >= 0xffff800000000000n, form);
    // The self-map entry is never entered by a walk of the kernel half.
    const walk = vm.walk(0xffff800000000000n, 2n ** 64n, 200_000);
    t.false(walk.truncated, form);
    const selfBase = 0xffff000000000000n | (BigInt(truth.kernel.selfRefIndex) << 39n);
    t.false(walk.pages.some((m) => m.va >= selfBase && m.va < selfBase + (1n << 39n)), form);
  }
});

test('a truncated sample: missing pages and ranges as the truth says, reasons name them', (t) => {
  for (const form of ['full', 'bitmap'] as const) {
    const { dump, truth } = sample(form, 0.6);
    const tr = truth.memory.truncated!;
    t.truthy(tr, form);
    const p = dump.physical! as unknown as { missingPages: number; missing: Array<{ basePage: number; pageCount: number }> };
    t.is(p.missingPages, tr.missingPages, form);
    t.deepEqual(p.missing.map((m) => ({ basePage: m.basePage, pageCount: m.pageCount })), tr.missingRuns, form);
    t.true(dump.partialReasons.some((r) => r.startsWith('truncated')), form);
    t.is(dump.physical!.presentPages, truth.memory.storedPages - tr.missingPages, form);
  }
});
