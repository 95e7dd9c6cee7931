// The handle step, after every process, thread and token exists: each running process's handles —
// a default few (its System32 directory File, an unnamed Event, a named Mutant), the scenario's
// own (Process / Thread handles on other processes, named Files, Events, Mutants, Sections, Tokens)
// and `extraHandles` more on a few shared Events — written into its handle table.
import { EVENT_ALL_ACCESS, FILE_TRAVERSE_SYNC, MUTANT_ALL_ACCESS } from './access.ts';
import type { KernelCtx } from './context.ts';
import { fillHandleTable, type HandleTarget } from './handle-table.ts';
import { typeIndexOf } from './object-types.ts';
import type { ProcessDraft, ProcessEnv } from './process.ts';
import type { HandleSpec } from '../scenario.ts';

/** Body bytes of the dispatcher objects handles point to (KEVENT, KMUTANT, SECTION). */
const BODY_SIZE: Readonly<Record<string, number>> = { Event: 0x18, Mutant: 0x38, Section: 0x40 };
const POOL_TAG: Readonly<Record<string, string>> = { Event: 'Even', Mutant: 'Muta', Section: 'Sect' };
/** Shared Events per process that `extraHandles` cycle over. */
const SHARED_EVENTS = 4;

/** Step: every running process's handles. */
export function buildHandles(k: KernelCtx, env: ProcessEnv, procs: readonly ProcessDraft[]): void {
  const byPid = new Map(procs.map((p) => [p.spec.pid, p]));
  const named = (type: string, name: string | undefined): HandleTarget => {
    const obj = env.objects.allocObject(BODY_SIZE[type], POOL_TAG[type], typeIndexOf(type), 'large', name !== undefined ? { name } : {});
    return { type, grantedAccess: 0, object: obj.bodyVa, objectHeader: obj.ohVa, target: null, name: name ?? null };
  };
  const resolve = (owner: ProcessDraft, h: HandleSpec): HandleTarget => {
    const access = Number(h.access);
    if (h.type === 'Process' || h.type === 'Thread' || h.type === 'Token') {
      const t = byPid.get(h.targetPid ?? owner.spec.pid);
      if (!t) throw new Error(`pid ${owner.spec.pid}: handle on unknown pid ${h.targetPid}`);
      const name = t.imageFileName.toString('latin1');
      if (h.type === 'Process') return { type: 'Process', grantedAccess: access, object: t.eprocessVa, objectHeader: t.objectHeaderVa, target: { pid: t.spec.pid, tid: null, name }, name: null };
      if (h.type === 'Token') return { type: 'Token', grantedAccess: access, object: t.token.obj.bodyVa, objectHeader: t.token.obj.ohVa, target: null, name: null };
      const th = t.threads[h.targetThread ?? 0];
      if (!th) throw new Error(`pid ${owner.spec.pid}: handle on missing thread ${h.targetThread ?? 0} of pid ${t.spec.pid}`);
      return { type: 'Thread', grantedAccess: access, object: th.ethread, objectHeader: th.objectHeader, target: { pid: t.spec.pid, tid: th.tid, name }, name: null };
    }
    if (h.type === 'File') {
      const f = env.files.file(h.name ?? '\\Windows');
      return { type: 'File', grantedAccess: access, object: f.obj.bodyVa, objectHeader: f.obj.ohVa, target: null, name: f.name };
    }
    return { ...named(h.type, h.name), grantedAccess: access };
  };
  for (const p of procs) {
    if (!p.handleTable) continue;
    const own: HandleTarget[] = [
      resolve(p, { type: 'File', name: '\\Windows\\System32', access: `${FILE_TRAVERSE_SYNC}` }),
      { ...named('Event', undefined), grantedAccess: EVENT_ALL_ACCESS },
      { ...named('Mutant', `\\BaseNamedObjects\\SM0:${p.spec.pid}:304:WilStaging_02`), grantedAccess: MUTANT_ALL_ACCESS },
      ...(p.spec.handles ?? []).map((h) => resolve(p, h)),
    ];
    const extra = p.spec.extraHandles ?? 0;
    const shared = Array.from({ length: Math.min(SHARED_EVENTS, extra) }, () => ({ ...named('Event', undefined), grantedAccess: EVENT_ALL_ACCESS }));
    for (let i = 0; i < extra; i++) own.push(shared[i % shared.length]);
    p.handles = fillHandleTable(k, env.objects, p.handleTable, own);
  }
}
