// MM_SESSION_SPACE per session id the scenario's processes use.
import { StructWriter } from '../structs.ts';
import type { KernelCtx } from './context.ts';

/** Session id → MM_SESSION_SPACE VA. */
export type Sessions = ReadonlyMap<number, bigint>;

const SESSION_STRIDE = 0x1000000n;

/** Step: one session space per distinct session id, in id order. */
export function buildSessions(k: KernelCtx): Sessions {
  const { layout, rng, scenario } = k;
  const sessions = new Map<number, bigint>();
  const sessionSize = layout.size('_MM_SESSION_SPACE');
  for (const sid of [...new Set(scenario.processes.map((p) => p.session).filter((s): s is number => typeof s === 'number'))].sort()) {
    const va = k.sessionBase + BigInt(sid) * SESSION_STRIDE;
    const b = Buffer.alloc(sessionSize);
    const ss = new StructWriter(layout, '_MM_SESSION_SPACE', b, 0);
    ss.set('ReferenceCount', rng.int(2, 40), true);
    ss.set('SessionId', sid);
    const pl = layout.field('_MM_SESSION_SPACE', 'ProcessList');
    if (pl) {
      ss.set('ProcessList.Flink', va + BigInt(pl.offset));
      ss.set('ProcessList.Blink', va + BigInt(pl.offset));
    }
    k.kwrite(va, b);
    sessions.set(sid, va);
  }
  return sessions;
}
