// The src/ntos process walks against the synthetic generator's ground truth: one scenario × ISF per
// call (generate a small full dump, open it through the dump layer, walk every readable process,
// compare each issue-12 field the truth records). Used by test/walks-truth.test.ts and
// scripts/check-walks-truth.ts.
import { join } from 'node:path';
import { openDump } from '../../src/dump/open.ts';
import { X64VirtualMemory } from '../../src/dump/x64.ts';
import { walkApcs } from '../../src/ntos/apcs.ts';
import { ModuleIndex, walkDrivers } from '../../src/ntos/drivers.ts';
import { readBasePriority, readDebugPort, readExitStatus, readExtendedInfo } from '../../src/ntos/extended-info.ts';
import { walkHandles } from '../../src/ntos/handles.ts';
import { IsfTypes, loadIsfFile } from '../../src/ntos/isf.ts';
import { layoutFromIsf } from '../../src/ntos/layout.ts';
import { loadObjectTypes } from '../../src/ntos/object-header.ts';
import { walkThreads } from '../../src/ntos/threads.ts';
import { readProcessToken } from '../../src/ntos/token.ts';
import { walkVadInfo } from '../../src/ntos/vad-info.ts';
import { generate } from '../../samples/generate.ts';

/** The seven reference ISFs. */
export const ISF_DIR = new URL('../../../shared/data/isf/windows/ntkrnlmp.pdb/', import.meta.url).pathname;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Differences between what the walk says (`got`) and the truth (`want`), for the keys the truth has. */
export function diff(path: string, got: unknown, want: Json, out: string[]): void {
  if (out.length > 40) return;
  if (want === null || typeof want !== 'object') {
    if (got !== want) out.push(`${path}: walk ${JSON.stringify(got)} truth ${JSON.stringify(want)}`);
    return;
  }
  if (Array.isArray(want)) {
    const g = Array.isArray(got) ? got : [];
    if (g.length !== want.length) out.push(`${path}: walk has ${g.length} items, truth ${want.length}`);
    for (let i = 0; i < Math.min(g.length, want.length); i++) diff(`${path}[${i}]`, g[i], want[i], out);
    return;
  }
  if (got === null || typeof got !== 'object') {
    out.push(`${path}: walk ${JSON.stringify(got)} truth ${JSON.stringify(want)}`);
    return;
  }
  for (const [k, v] of Object.entries(want)) diff(`${path}.${k}`, (got as Record<string, unknown>)[k], v, out);
}

export interface Row {
  scenario: string;
  isf: string;
  processes: number;
  compared: Record<string, number>;
  mismatches: string[];
  partial: string[];
}

export function checkWalksAgainstTruth(scenario: string, isfPath: string, sizeMiB: number, dir: string): Row {
  const out = join(dir, `${scenario}.dmp`);
  const g = generate({ scenario, isf: isfPath, form: 'full', sizeBytes: sizeMiB * 2 ** 20, seed: 12, out });
  const truth = g.truth as unknown as { kernel: { base: string; dtb: string; psLoadedModuleList: string }; processes: Array<Record<string, Json> & { pid: number; name: string; eprocess: { va: string; readable: boolean } }> };
  const layout = layoutFromIsf(new IsfTypes(loadIsfFile(isfPath)), { kind: 'isf', path: isfPath });
  const dump = openDump(out, { cachePages: 256 });
  const row: Row = { scenario, isf: isfPath.split('/').pop()!.slice(0, 8), processes: 0, compared: {}, mismatches: [], partial: [] };
  try {
    const vm = new X64VirtualMemory(dump.physical!, BigInt(truth.kernel.dtb));
    const types = loadObjectTypes(vm, layout, BigInt(truth.kernel.base));
    if (types.reason) row.partial.push(`types: ${types.reason}`);
    const mods = walkDrivers(vm, layout, BigInt(truth.kernel.psLoadedModuleList));
    if (mods.partial) row.partial.push(`modules: ${mods.issues.map((i) => i.message).join('; ')}`);
    const index = new ModuleIndex(mods.items);
    for (const p of truth.processes) {
      if (!p.eprocess.readable) continue;
      row.processes++;
      const va = BigInt(p.eprocess.va);
      const who = `${p.name}(${p.pid})`;
      const vads = walkVadInfo(vm, layout, va);
      // Attribution as the analysis does it: the process's mapped images (VAD files, by base name), then drivers.
      const images = new ModuleIndex(
        vads.items.filter((v) => v.file !== null).map((v) => ({ base: BigInt(v.start), end: BigInt(v.end) + 1n, name: v.file!.split('\\').pop()! })),
      );
      const attribute = (a: string | null) => (a === null ? null : (images.attribute(a) ?? index.attribute(a)));
      const th = walkThreads(vm, layout, va);
      const threads = th.items.map((t) => {
        const a = walkApcs(vm, layout, BigInt(t.ethread));
        if (a.partial) row.partial.push(`${who} apcs of ${t.tid}: ${a.issues.map((i) => i.message).join('; ')}`);
        return {
          ...t,
          startModule: attribute(t.win32StartAddress ?? t.startAddress),
          apcs: a.items.map((x) => ({ ...x, module: attribute(x.mode === 'user' ? x.normalRoutine : x.kernelRoutine) })),
        };
      });
      const hs = walkHandles(vm, layout, va, types.types);
      const tok = readProcessToken(vm, layout, va);
      const ext = readExtendedInfo(vm, layout, va, { token: tok });
      const got: Record<string, unknown> = {
        threads,
        handles: hs.items,
        token: tok.token,
        vads: vads.items,
        extendedInfo: ext,
        debugPort: readDebugPort(vm, layout, va).value,
        exitStatus: readExitStatus(vm, layout, va).value,
        basePriority: readBasePriority(vm, layout, va).value,
      };
      for (const [name, w] of [['threads', th], ['handles', hs], ['token', tok], ['vads', vads]] as const) {
        if (w.partial && !p.terminated) row.partial.push(`${who} ${name}: ${w.issues.map((i) => i.message).join('; ') || 'unreadable fields'}`);
      }
      for (const key of Object.keys(got)) {
        if (!(key in p)) continue;
        row.compared[key] = (row.compared[key] ?? 0) + 1;
        const d: string[] = [];
        diff(`${who}.${key}`, got[key], p[key] as Json, d);
        row.mismatches.push(...d);
      }
    }
  } finally {
    dump.close();
  }
  return row;
}

