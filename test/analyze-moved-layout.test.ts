// A kernel layout the tool has never seen: the real 19041 ISF with every _EPROCESS field from
// UniqueProcessId on moved by 0x40 (the struct 0x40 larger) and a new GUID, so no built-in table,
// cache or symbol server knows it. The generator writes a dump from that ISF; analyze, with no
// symbols, infers the layout from the data. Every PPID, create time and protection it reports is
// the ground truth's or null — never a wrong value, never -1 — and the inference really happens.
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDump } from '../src/dump/open.ts';
import { IsfTypes, loadIsfFile, type IsfDocument } from '../src/ntos/isf.ts';
import { discoverKernel } from '../src/ntos/kernel.ts';
import { layoutFromIsf, type KernelLayout } from '../src/ntos/layout.ts';
import { resolveKernelLayout } from '../src/ntos/symbols.ts';
import { analyzeDump } from '../src/vsm/analyze.ts';
import { generate, type Truth } from '../samples/generate.ts';
import { unknownKernelCopy } from './helpers/kernel-synth.ts';

const ISF = new URL('../../shared/data/isf/windows/ntkrnlmp.pdb/', import.meta.url).pathname;
const TMP = new URL('./.tmp/analyze-moved-layout/', import.meta.url).pathname;
rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });
test.after.always(() => rmSync(TMP, { recursive: true, force: true }));

/** The real layout the moved one is made from (10.0.19041.3570). */
const BASE = '606FF669409B00F7FC8C61A9C1670129-1';
/** A GUID no symbol source has. */
const MOVED_GUID = 'C0FFEE15000000000000000000F00D15';
/** A build no table has (the generator writes 19041 for an ISF it does not know; the first test's copy says this). */
const MOVED_BUILD = 29998;
/** Bytes inserted in _EPROCESS before UniqueProcessId: every field at or after it moves by this much. */
const INSERTED = 0x40;

/** The base ISF with `INSERTED` bytes inserted in _EPROCESS at `at`, under `guid`. */
function movedIsf(doc: IsfDocument, at: number, guid: string): IsfDocument {
  const copy = structuredClone(doc) as IsfDocument & { metadata: { windows: { pdb: { GUID: string } } } };
  const ep = copy.user_types['_EPROCESS'];
  for (const f of Object.values(ep.fields)) if (f.offset >= at) f.offset += INSERTED;
  ep.size += INSERTED;
  copy.metadata.windows.pdb.GUID = guid;
  return copy;
}

interface Moved {
  path: string;
  truth: Truth;
  want: KernelLayout;
}

let made: Moved | undefined;
/** Generates the moved-layout dump once (32 MiB) and checks the move is real. */
function movedDump(t: ExecutionContext): Moved {
  if (made) return made;
  const base = loadIsfFile(join(ISF, `${BASE}.json.xz`));
  const at = base.user_types['_EPROCESS'].fields['UniqueProcessId'].offset;
  const moved = movedIsf(base, at, MOVED_GUID);
  const isfPath = join(TMP, `${MOVED_GUID}-1.json`);
  writeFileSync(isfPath, JSON.stringify(moved));
  const want = layoutFromIsf(new IsfTypes(moved), { kind: 'isf', path: isfPath });
  const orig = layoutFromIsf(new IsfTypes(base), { kind: 'isf', path: BASE });
  // The move is real: the fields the inference looks for are not where the base layout has them.
  for (const key of ['EPROCESS.UniqueProcessId', 'EPROCESS.ActiveProcessLinks', 'EPROCESS.ImageFileName', 'EPROCESS.InheritedFromUniqueProcessId', 'EPROCESS.CreateTime', 'EPROCESS.Protection'] as const) {
    t.is(want.fields[key]!.offset, orig.fields[key]!.offset + INSERTED, key);
  }
  const g = generate({ scenario: 'vsm-credential-guard', isf: isfPath, form: 'full', sizeBytes: 32 * 2 ** 20, seed: 15, out: join(TMP, 'moved.dmp') });
  t.is(g.truth.pdb.guid, MOVED_GUID);
  made = { path: g.dumpPath, truth: g.truth, want };
  return made;
}

async function checkMoved(t: ExecutionContext, m: Moved, path: string, expectTried: string[]): Promise<void> {
  const noSymbols = { ntSymbolPath: '', cacheDir: join(TMP, 'cache') };
  const dump = openDump(path);
  try {
    // The layout comes from the data, and its offsets are the moved ones.
    const r = await resolveKernelLayout(discoverKernel(dump), noSymbols);
    t.deepEqual(r.tried.map((x) => `${x.step}:${x.result}`).slice(-2), expectTried);
    t.is(r.layout.source.kind, 'inferred');
    for (const key of ['EPROCESS.UniqueProcessId', 'EPROCESS.ActiveProcessLinks', 'EPROCESS.ImageFileName', 'KPROCESS.DirectoryTableBase', 'EPROCESS.Protection'] as const) {
      t.is(r.layout.fields[key]?.offset, m.want.fields[key]!.offset, key);
    }
    for (const key of ['EPROCESS.InheritedFromUniqueProcessId', 'EPROCESS.CreateTime'] as const) {
      const got = r.layout.fields[key]?.offset;
      t.true(got === undefined || got === m.want.fields[key]!.offset, `${key}: inferred +0x${got?.toString(16)}, real +0x${m.want.fields[key]!.offset.toString(16)}`);
    }

    const a = await analyzeDump(dump, { symbols: noSymbols });
    t.regex(a.kernel.symbolsSource, /^inferred/);
    const linked = m.truth.processes.filter((p) => p.linked);
    const listed = a.processes.filter((p) => p.sources.includes('list'));
    // PID and name: exactly the ground truth's linked processes.
    t.deepEqual(
      listed.map((p): [number, string] => [p.pid, p.name.text]).sort((x, y) => x[0] - y[0]),
      linked.map((p): [number, string] => [p.pid, p.name]).sort((x, y) => x[0] - y[0]),
    );
    const truthOf = new Map(linked.map((p) => [p.pid, p]));
    for (const p of listed) {
      const want = truthOf.get(p.pid)!;
      t.true(p.ppid === null || p.ppid === want.ppid, `PID ${p.pid} ppid ${p.ppid} vs ${want.ppid}`);
      t.true(p.createTime === null || p.createTime === want.createTime, `PID ${p.pid} createTime ${p.createTime} vs ${want.createTime}`);
      t.true(p.protection === null || p.protection.raw === want.protection, `PID ${p.pid} protection ${JSON.stringify(p.protection)} vs ${want.protection}`);
    }
    t.false(a.processes.some((p) => p.ppid === -1 || p.pid === -1), 'no sentinel');
    // Not all null: the test fails if the inference stops giving PPID, create time or protection.
    const ppids = listed.filter((p) => p.ppid !== null).length;
    const times = listed.filter((p) => p.createTime !== null).length;
    const prots = listed.filter((p) => p.protection !== null).length;
    t.log(`moved layout: ${listed.length} listed; ppid inferred for ${ppids}, createTime for ${times}, protection for ${prots}; ${a.kernel.symbolsSource}`);
    t.is(ppids, listed.length, 'ppid inferred for every listed process');
    t.is(times, listed.length, 'createTime inferred for every listed process');
    t.is(prots, listed.length, 'protection inferred for every listed process');
  } finally {
    dump.close();
  }
}

test.serial(`moved layout (${BASE} with _EPROCESS fields from UniqueProcessId +0x${INSERTED.toString(16)}, new GUID, unseen build): inferred, PPID/create time/protection true or null`, async (t) => {
  const m = movedDump(t);
  const path = unknownKernelCopy({ path: m.path, truth: m.truth }, join(TMP, 'moved-unseen-build.dmp'), MOVED_GUID, MOVED_BUILD);
  await checkMoved(t, m, path, ['builtin-build:not-found', 'inferred:matched']);
  rmSync(path);
});

test.serial('moved layout under a known build (19041): the same-build table entry is contradicted by the data and refused; inferred instead', async (t) => {
  const m = movedDump(t);
  await checkMoved(t, m, m.path, ['builtin-build:mismatch', 'inferred:matched']);
});
