// PsActiveProcessHead and ActiveProcessLinks, with the scenario's list damage (a cycle or a bad
// Flink) and DKOM-unlinked processes whose links point at themselves; PsInitialSystemProcess.
import { u64, type KernelCtx } from './context.ts';
import type { ProcessDraft } from './process.ts';

/** Flink written on a `bad-flink` scenario that names no value. */
const DEFAULT_BAD_FLINK = '0xdeadbeefdeadbeef';

/** Step: links the processes; returns the list head VA. */
export function linkProcessList(k: KernelCtx, built: readonly ProcessDraft[]): bigint {
  const head = k.sym('PsActiveProcessHead');
  const aplOff = k.layout.off('_EPROCESS', 'ActiveProcessLinks');
  const linked = built.filter((p) => p.linked);
  const linkVa = (p: ProcessDraft) => p.eprocessVa + BigInt(aplOff);
  const flinks = new Map<ProcessDraft | 'head', bigint>();
  const blinks = new Map<ProcessDraft | 'head', bigint>();
  linked.forEach((p, i) => {
    flinks.set(p, i + 1 < linked.length ? linkVa(linked[i + 1]) : head);
    blinks.set(p, i > 0 ? linkVa(linked[i - 1]) : head);
  });
  flinks.set('head', linked.length ? linkVa(linked[0]) : head);
  blinks.set('head', linked.length ? linkVa(linked[linked.length - 1]) : head);
  const lc = k.scenario.listCorruption;
  if (lc) {
    const at = linked.find((p) => p.spec.pid === lc.pid);
    if (!at) throw new Error(`list corruption at unknown/unlinked pid ${lc.pid}`);
    if (lc.kind === 'cycle') {
      const to = linked.find((p) => p.spec.pid === lc.toPid);
      if (!to) throw new Error(`cycle target pid ${lc.toPid} not linked`);
      flinks.set(at, linkVa(to));
    } else {
      flinks.set(at, BigInt(lc.value ?? DEFAULT_BAD_FLINK));
    }
    linked.slice(linked.indexOf(at) + 1).forEach((p) => (p.reachableForward = false));
  }
  for (const p of built) {
    if (p.linked) {
      p.ep.set('ActiveProcessLinks.Flink', flinks.get(p)!);
      p.ep.set('ActiveProcessLinks.Blink', blinks.get(p)!);
    } else {
      // DKOM (FU-style): the hidden process's links point at itself.
      p.ep.set('ActiveProcessLinks.Flink', linkVa(p));
      p.ep.set('ActiveProcessLinks.Blink', linkVa(p));
    }
  }
  const headBuf = Buffer.alloc(16);
  headBuf.writeBigUInt64LE(flinks.get('head')!, 0);
  headBuf.writeBigUInt64LE(blinks.get('head')!, 8);
  k.kwrite(head, headBuf);
  k.kwrite(k.sym('PsInitialSystemProcess'), u64(built[0].eprocessVa));
  return head;
}
