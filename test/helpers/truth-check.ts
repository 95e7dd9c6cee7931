// Compares an Analysis with a generated dump's ground truth (samples/truth.ts), field by field,
// with messages that name the scenario, form, process and field.
import type { ExecutionContext } from 'ava';
import type { Truth } from '../../samples/truth.ts';
import { TAMPER_RULE_LIST } from './tamper-rules.ts';
import type { Analysis, DumpString } from '../../src/vsm/types.ts';
import type { Dump } from '../../src/dump/types.ts';
import { X64VirtualMemory } from '../../src/dump/x64.ts';
import { builtinByPdb } from '../../src/ntos/layout-table.ts';

/** The bytes behind a DumpString: rawHex when the text is not a faithful rendering, else the text itself. */
export function dumpStringHex(s: DumpString): string {
  return s.rawHex ?? Buffer.from(s.text, 'utf8').toString('hex');
}

/** Whether the file still holds a process's identity (PID and ImageFileName), read through the kernel's page tables. */
function identityHeld(dump: Dump, truth: Truth): (p: Truth['processes'][number]) => boolean {
  const layout = builtinByPdb(truth.pdb.guid, truth.pdb.age)!;
  const vm = new X64VirtualMemory(dump.physical!, Number(truth.kernel.dtb));
  const pid = layout.fields['EPROCESS.UniqueProcessId']!;
  const name = layout.fields['EPROCESS.ImageFileName']!;
  return (p) => {
    const va = BigInt(p.eprocess.va);
    return vm.read(va + BigInt(pid.offset), 8) !== undefined && vm.read(va + BigInt(name.offset), name.size) !== undefined;
  };
}

/**
 * Issue 12's tampering findings (src/vsm/tampering.ts): past a truncation cut the structures they
 * come from may be gone, so there they are not required (test/analyze-internals-*.test.ts compares
 * them exactly on whole dumps).
 */
const TAMPER_RULES: ReadonlySet<string> = new Set(TAMPER_RULE_LIST);

export function checkAgainstTruth(t: ExecutionContext, a: Analysis, truth: Truth, label: string, dump: Dump): void {
  const byPid = new Map(a.processes.map((p) => [p.pid, p]));
  // A truncated file can only show the objects it still holds, and its list may be cut: there the
  // check is "nothing invented, everything held found", not "everything".
  const truncated = truth.memory.truncated !== null;
  const held = truncated ? identityHeld(dump, truth) : () => true;
  const expected = truth.processes.filter((p) => !truncated || held(p));
  const gotPids = a.processes.map((p) => p.pid).sort((x, y) => x - y);
  if (truncated) {
    const all = new Set(truth.processes.map((p) => p.pid));
    t.deepEqual(gotPids.filter((p) => !all.has(p)), [], `${label}: no invented PID`);
    const have = new Set(gotPids);
    t.deepEqual(expected.map((p) => p.pid).filter((p) => !have.has(p)), [], `${label}: every process held in the file is found`);
  } else {
    t.deepEqual(gotPids, expected.map((p) => p.pid).sort((x, y) => x - y), `${label}: the set of PIDs`);
  }
  for (const want of truth.processes) {
    const got = byPid.get(want.pid);
    if (!got) continue;
    const at = `${label} pid ${want.pid} (${want.name})`;
    let wantSources = [...(want.linked ? ['list'] : []), 'scan'];
    let wantUnlinked = want.unlinked;
    if (truncated) {
      // The list may be unreadable past the cut: 'list' must be true when claimed, 'scan' is required.
      wantSources = wantSources.filter((s) => s === 'scan' || got.sources.includes('list'));
      if (!got.unlinked) wantUnlinked = false;
    }
    const gotView = {
        ppid: got.ppid,
        name: dumpStringHex(got.name),
        secure: got.secure,
        trustlet: got.trustlet,
        protection: got.protection?.raw ?? null,
        sources: got.sources,
        createTime: got.createTime,
        exitTime: got.exitTime,
        terminated: got.terminated,
        unlinked: got.unlinked,
        va: got.eprocess.va,
        pa: got.eprocess.pa,
        sessionId: got.sessionId,
        dtb: got.dtb,
        peb: got.peb,
        wow64: got.wow64,
        // UNICODE_STRING: rawHex holds UTF-16LE bytes.
        imagePath: got.imagePath ? (got.imagePath.rawHex ? Buffer.from(got.imagePath.rawHex, 'hex').toString('utf16le') : got.imagePath.text) : null,
      };
    const wantView: Record<string, unknown> = {
        ppid: want.ppid,
        name: want.imageFileNameHex,
        secure: want.secure,
        trustlet: want.trustlet ? { id: want.trustlet.id, name: want.trustlet.name } : null,
        protection: want.protection,
        sources: wantSources,
        createTime: want.createTime,
        exitTime: want.exitTime,
        terminated: want.terminated,
        unlinked: wantUnlinked,
        va: want.eprocess.va,
        pa: want.eprocess.pa,
        sessionId: want.sessionId,
        dtb: want.dtb,
        peb: want.peb,
        wow64: want.wow64,
        imagePath: want.imagePath,
      };
    if (truncated) {
      // Past the cut, pointers out of the object (and the pages that name its VA) may be gone: null is
      // honest there, a different value is not.
      for (const k of ['va', 'imagePath', 'sessionId', 'protection'] as const) if (gotView[k] === null) wantView[k] = null;
    }
    t.deepEqual(gotView, wantView, at);
    if (want.secure) {
      t.truthy(got.isolation, `${at}: isolation for a secure process`);
      if (got.isolation) {
        const { pagesMapped, pagesNotResident, pagesAbsent, pagesUnreadable, pagesReadable } = got.isolation;
        const counts = { pagesMapped, pagesNotResident, pagesAbsent, pagesUnreadable, pagesReadable };
        if (truncated && got.isolation.partial) {
          // Page-table pages cut off: what was counted must be a subset of the truth, and say it is partial.
          for (const k of Object.keys(counts) as (keyof typeof counts)[]) t.true(counts[k] <= want.pages[k], `${at}: ${k} ${counts[k]} ≤ ${want.pages[k]}`);
          t.true(got.isolation.tablePagesAbsent > 0 || got.isolation.partial, `${at}: partial walk marked`);
        } else t.deepEqual(counts, want.pages, `${at}: page classes`);
      }
    }
  }
  t.is(a.vsm.verdict, truth.vsm.verdict, `${label}: VSM verdict (${a.vsm.reason})`);
  for (const f of truth.expectedFindings) {
    if (truncated && TAMPER_RULES.has(f.rule)) continue;
    if (truncated && f.rule === 'ntos.process-unlinked' && !byPid.get(f.pid!)?.unlinked) continue;
    t.true(
      a.findings.some((g) => g.rule === f.rule && (f.pid === undefined || g.evidence.pid === f.pid)),
      `${label}: finding ${f.rule}${f.pid !== undefined ? ` for pid ${f.pid}` : ''} (got ${a.findings.map((g) => `${g.rule}:${g.evidence.pid ?? ''}`).join(', ')})`,
    );
  }
  // No decoy becomes a process.
  const vas = new Set(a.processes.map((p) => p.eprocess.va));
  const pas = new Set(a.processes.map((p) => p.eprocess.pa));
  for (const d of truth.decoys) t.false((d.va !== null && vas.has(d.va)) || pas.has(d.pa), `${label}: decoy ${d.kind} at ${d.pa}`);
  // What the file lacks is marked.
  if (truth.memory.truncated) {
    t.true(a.partial.partial, `${label}: a truncated file is a partial result`);
    t.true(a.partial.missingRanges.length > 0, `${label}: missing ranges listed`);
  }
  const broken = truth.listOrder.length < truth.processes.filter((p) => p.linked).length;
  if (broken) t.true(a.partial.partial, `${label}: a broken list makes the result partial`);
}
