// The process tree as renderers show it. PPIDs come from the evidence, so parent links may form
// cycles or point at reused PIDs: a parent must share the PPID and be created no later than the
// child, and the walk visits each process once, whatever the links say.
import type { ProcessRecord } from '../vsm/types.ts';

export interface TreeRow {
  readonly process: ProcessRecord;
  /** Index into the input list. */
  readonly index: number;
  readonly depth: number;
  /** Index of the parent row's process in the input list, or -1 for a root. */
  readonly parent: number;
}

/**
 * An ISO-8601 time as a sortable number: milliseconds, plus the digits below a millisecond
 * (FILETIME has 100 ns) as a fraction. Strings cannot be compared as text: '01Z' sorts after
 * '01.5Z'. Null or unparsable → NaN.
 */
export function timeKey(t: string | null): number {
  if (!t) return NaN;
  const ms = Date.parse(t);
  const sub = /\.\d{3}(\d{1,6})/.exec(t);
  return sub ? ms + Number(`0.${sub[1]}`) : ms;
}

/**
 * For each process, the index of its parent's record (-1 when none): same PID as its ppid, not
 * created after it (the latest such). A process is never its own parent.
 */
export function parentIndexes(all: readonly ProcessRecord[]): number[] {
  const byPid = new Map<number, number[]>();
  all.forEach((p, i) => {
    const l = byPid.get(p.pid);
    if (l) l.push(i);
    else byPid.set(p.pid, [i]);
  });
  const keys = all.map((p) => timeKey(p.createTime));
  return all.map((p, i) => {
    if (p.ppid === null || p.pid === p.ppid) return -1;
    let best = -1;
    for (const j of byPid.get(p.ppid) ?? []) {
      if (j === i) continue;
      if (keys[j] > keys[i]) continue; // created after the child: a later process reusing the PID
      if (best < 0 || keys[j] > keys[best] || (Number.isNaN(keys[best]) && !Number.isNaN(keys[j]))) best = j;
    }
    return best;
  });
}

/** Depth-first order: roots by PID, children by create time then PID. Every process appears exactly once. */
export function processTree(all: readonly ProcessRecord[], maxDepth = 64): TreeRow[] {
  const parentOf = parentIndexes(all);
  const children: number[][] = all.map(() => []);
  parentOf.forEach((par, i) => par >= 0 && children[par].push(i));
  const keys = all.map((p) => timeKey(p.createTime));
  // Unknown create times sort last among siblings.
  const byTime = (a: number, b: number) => (Number.isNaN(keys[a]) ? Infinity : keys[a]) - (Number.isNaN(keys[b]) ? Infinity : keys[b]) || 0;
  const order = (a: number, b: number) => byTime(a, b) || all[a].pid - all[b].pid || a - b;
  for (const c of children) c.sort(order);

  const rows: TreeRow[] = [];
  const seen = new Uint8Array(all.length);
  const visit = (i: number, depth: number, parent: number) => {
    // Iterative to bound the stack on a crafted chain of parents.
    const stack: [number, number, number][] = [[i, depth, parent]];
    while (stack.length) {
      const [j, d, par] = stack.pop()!;
      if (seen[j]) continue;
      seen[j] = 1;
      rows.push({ process: all[j], index: j, depth: Math.min(d, maxDepth), parent: par });
      for (let k = children[j].length - 1; k >= 0; k--) stack.push([children[j][k], d + 1, j]);
    }
  };
  const roots = all.map((_, i) => i).filter((i) => parentOf[i] < 0).sort((a, b) => all[a].pid - all[b].pid || a - b);
  for (const r of roots) visit(r, 0, -1);
  // Whatever is left sits on a parent cycle: show each as a root so none is dropped.
  for (let i = 0; i < all.length; i++) if (!seen[i]) visit(i, 0, -1);
  return rows;
}
