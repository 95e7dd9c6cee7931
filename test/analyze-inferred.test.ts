// `analyze` on a kernel that no symbol source knows: offsets are inferred from the data, every
// process on the list is still reported, the secure marker is confirmed from Secure System and
// LsaIso.exe, fields the inference cannot give are unknown (null), and the result says so.
import test from 'ava';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openDump } from '../src/dump/open.ts';
import { analyzeDump } from '../src/vsm/analyze.ts';
import { sample, unknownKernelCopy } from './helpers/kernel-synth.ts';

const TMP = new URL('./.tmp/analyze-inferred/', import.meta.url).pathname;
rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });
test.after.always(() => rmSync(TMP, { recursive: true, force: true }));

// The 14393 layout is presented as an unseen pre-17763 build (the marker there is SecurePid).
for (const [kernel, build] of [['606FF669409B00F7FC8C61A9C1670129-1', 29999], ['DBBC830E3E9A48FDA25A2144C146930E-1', 15063]] as const) {
  test(`unseen kernel with the layout of ${kernel}: list walked with inferred offsets, marked partial`, async (t) => {
    const s = sample(TMP, kernel, 'full');
    const path = unknownKernelCopy(s, join(TMP, `${kernel}-unseen.dmp`), 'A11CE0FF0000000000000000DEADBEEF', build);
    const dump = openDump(path);
    try {
      const a = await analyzeDump(dump, { symbols: { ntSymbolPath: '', cacheDir: join(TMP, 'cache') } });
      t.regex(a.kernel.symbolsSource, /^inferred/);
      const linked = s.truth.processes.filter((p) => p.linked);
      const listed = a.processes.filter((p) => p.sources.includes('list'));
      t.deepEqual(
        listed.map((p): [number, number | null, string] => [p.pid, p.ppid, p.name.text]).sort((x, y) => x[0] - y[0]),
        linked.map((p): [number, number | null, string] => [p.pid, p.ppid, p.name]).sort((x, y) => x[0] - y[0]),
      );
      // The seed's IsSecureProcess semantics survive inference: exactly the truth's secure processes.
      t.deepEqual(
        listed.filter((p) => p.secure).map((p) => p.pid).sort(),
        linked.filter((p) => p.secure).map((p) => p.pid).sort(),
      );
      // Inferred values equal the truth; what is not inferred is unknown (null), never a made-up value.
      const truthOf = new Map(linked.map((p) => [p.pid, p]));
      for (const p of listed) {
        t.true(p.protection === null || p.protection.raw === truthOf.get(p.pid)!.protection, `PID ${p.pid} protection ${p.protection?.raw} vs ${truthOf.get(p.pid)!.protection}`);
        t.true(p.createTime === null || p.createTime === truthOf.get(p.pid)!.createTime, `PID ${p.pid} createTime ${p.createTime} vs ${truthOf.get(p.pid)!.createTime}`);
        t.true(p.ppid === null || p.ppid === truthOf.get(p.pid)!.ppid, `PID ${p.pid} ppid`);
      }
      t.log(`${kernel}: createTime inferred for ${listed.filter((p) => p.createTime !== null).length}, protection for ${listed.filter((p) => p.protection !== null).length} of ${listed.length} listed processes; ${a.kernel.symbolsSource}`);
      // The generator writes every process's PS_PROTECTION: the inference finds the byte, so none is unknown.
      t.is(listed.filter((p) => p.protection !== null).length, listed.length, 'protection inferred for every listed process');
      t.true(a.partial.partial);
      t.true(a.partial.reasons.some((r) => /inferred from the data/.test(r)));
      t.true(a.partial.reasons.some((r) => /^Not inferred: ExitTime, Peb/.test(r)));
      t.false(a.processes.some((p) => p.ppid === -1 || p.pid === -1), 'no sentinel');
    } finally {
      dump.close();
    }
  });
}
