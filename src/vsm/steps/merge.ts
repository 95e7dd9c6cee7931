// Step 4: one entry per process object, by EPROCESS VA (PA when the VA is unknown), listed ones in
// list order first, scan-only ones after by physical address.
import type { ScanHit } from '../../ntos/pool-scan.ts';
import type { ListEntry } from '../../ntos/process-list.ts';
import type { EprocessInfo } from '../../ntos/process.ts';
import type { ProcessSource } from '../types.ts';

export interface Merged {
  readonly info: EprocessInfo;
  readonly va: bigint | null;
  pa: number | null;
  readonly sources: Set<ProcessSource>;
  readonly listIndex: number;
}

const NOT_LISTED = Number.MAX_SAFE_INTEGER;

export function mergeProcesses(entries: readonly ListEntry[], hits: readonly ScanHit[]): Merged[] {
  const merged: Merged[] = [];
  const byVa = new Map<bigint, Merged>();
  const byPa = new Map<number, Merged>();
  entries.forEach((e, i) => {
    if (byVa.has(e.va)) return;
    const m: Merged = { info: e.info, va: e.va, pa: e.info.pa, sources: new Set(['list']), listIndex: i };
    merged.push(m);
    byVa.set(e.va, m);
    if (m.pa !== null) byPa.set(m.pa, m);
  });
  for (const h of hits) {
    const m = (h.va !== null ? byVa.get(h.va) : undefined) ?? byPa.get(h.pa);
    if (m) {
      m.sources.add('scan');
      if (m.pa === null) m.pa = h.pa;
      continue;
    }
    const n: Merged = { info: h.info, va: h.va, pa: h.pa, sources: new Set(['scan']), listIndex: NOT_LISTED };
    merged.push(n);
    if (h.va !== null) byVa.set(h.va, n);
    byPa.set(h.pa, n);
  }
  return merged.sort((a, b) => a.listIndex - b.listIndex || (a.pa ?? 0) - (b.pa ?? 0));
}
