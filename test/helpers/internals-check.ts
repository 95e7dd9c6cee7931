// Compares the process internals of an Analysis (threads + APCs, handles, token, VADs, the nine
// extended flags, exit status, base priority, debug port, loaded drivers) and the tampering findings
// with a generated dump's ground truth (samples/truth-detail.ts), field by field.
import type { ExecutionContext } from 'ava';
import type { Truth } from '../../samples/truth.ts';
import type { Analysis, Finding } from '../../src/vsm/types.ts';
import { TAMPER_RULE_LIST } from './tamper-rules.ts';

export const TAMPER_RULES = TAMPER_RULE_LIST;

const FLAGS = ['isProtectedProcess', 'isWow64Process', 'isProcessDeleting', 'isCrossSessionCreate', 'isFrozen', 'isBackground', 'isStronglyNamed', 'isSecureProcess', 'isSubsystemProcess'] as const;

type Expected = Truth['expectedFindings'][number];

/** A finding as the truth states it: rule, subject PID, owner PID, handle, TID, address, module (only the keys the truth gives). */
function key(rule: string, e: { pid?: unknown; ownerPid?: unknown; handle?: unknown; tid?: unknown; address?: unknown; module?: unknown }, keys: readonly string[]): string {
  const all: Record<string, unknown> = { pid: e.pid, ownerPid: e.ownerPid, handle: e.handle, tid: e.tid, address: e.address, module: e.module };
  return `${rule} ${keys.map((k) => `${k}=${JSON.stringify(all[k] ?? null)}`).join(' ')}`;
}
function gotKey(f: Finding, keys: readonly string[]): string {
  const ev = f.evidence as Record<string, unknown> & { owner?: { pid?: number } };
  return key(f.rule, { pid: ev.pid, ownerPid: ev.owner?.pid, handle: ev.handle, tid: ev.tid, address: ev.address, module: ev.module }, keys);
}
const keysOf = (e: Expected) => (['pid', 'ownerPid', 'handle', 'tid', 'address', 'module'] as const).filter((k) => k in e);

export interface InternalsCheckOptions {
  /** PIDs whose user pages the form does not hold (the PE-header test cannot see them). */
  readonly userPagesAbsent: (pid: number) => boolean;
}

export function checkInternals(t: ExecutionContext, a: Analysis, truth: Truth, label: string, opts: InternalsCheckOptions): void {
  const byPid = new Map(a.processes.map((p) => [p.pid, p]));
  for (const want of truth.processes) {
    const got = byPid.get(want.pid);
    const at = `${label} pid ${want.pid} (${want.name})`;
    if (!got) {
      t.fail(`${at}: missing`);
      continue;
    }
    const x = got.extendedInfo;
    t.truthy(x, `${at}: extendedInfo`);
    const wx = want.extendedInfo as Record<string, unknown>;
    if (x) {
      t.deepEqual(
        { flags: x.flags, knownFlags: x.knownFlags, unknownMask: x.unknownMask, ...Object.fromEntries(FLAGS.map((f) => [f, x[f]])) },
        { flags: wx.flags, knownFlags: wx.knownFlags, unknownMask: wx.unknownMask, ...Object.fromEntries(FLAGS.map((f) => [f, wx[f]])) },
        `${at}: the nine flags`,
      );
      for (const f of FLAGS) t.truthy(x.sources[f], `${at}: ${f} names its source`);
    }
    t.deepEqual({ exitStatus: got.exitStatus, basePriority: got.basePriority, debugPort: got.debugPort }, { exitStatus: want.exitStatus, basePriority: want.basePriority, debugPort: want.debugPort }, `${at}: exit status, base priority, debug port`);
    t.deepEqual(got.threads, want.threads, `${at}: threads with start modules and APCs`);
    t.deepEqual(got.handles ? [...got.handles].sort((p, q) => p.handle - q.handle) : got.handles, want.handles, `${at}: handles`);
    t.deepEqual(got.token, want.token, `${at}: token`);
    t.deepEqual(got.vads ? [...got.vads].sort((p, q) => (BigInt(p.start) < BigInt(q.start) ? -1 : 1)) : got.vads, want.vads, `${at}: VADs`);
  }
  t.deepEqual(
    (a.modules ?? []).map((m) => ({ name: m.name, path: m.path, base: m.base, size: m.size })),
    truth.modules.map((m) => ({ name: m.name, path: m.path, base: m.base, size: m.size })),
    `${label}: loaded drivers`,
  );

  // Exactly the expected tampering findings (a PE header in user pages the form lacks cannot be seen).
  const expected = truth.expectedFindings.filter((e) => (TAMPER_RULES as readonly string[]).includes(e.rule)).filter((e) => !(e.rule === 'ntos.injected-code' && e.tid === undefined && opts.userPagesAbsent(e.pid!)));
  const got = a.findings.filter((f) => (TAMPER_RULES as readonly string[]).includes(f.rule));
  const want = expected.map((e) => key(e.rule, e, keysOf(e))).sort();
  // Each got finding keyed on the keys of the expected finding of its rule (all expectations of a rule give the same keys, except optional tid).
  const keysByRule = new Map<string, (readonly string[])[]>();
  for (const e of expected) keysByRule.set(e.rule, [...(keysByRule.get(e.rule) ?? []), keysOf(e)]);
  const have = got
    .map((f) => {
      const candidates = keysByRule.get(f.rule) ?? [['pid']];
      return candidates.map((k) => gotKey(f, k)).find((k) => want.includes(k)) ?? gotKey(f, candidates[0]);
    })
    .sort();
  t.deepEqual(have, want, `${label}: exactly the expected tampering findings`);
  for (const f of got) {
    t.truthy(f.attack?.techniqueId, `${label}: ${f.rule} maps to an ATT&CK technique`);
    if (f.rule.startsWith('vsm.')) t.true(f.severity === 'high' || f.severity === 'critical', `${label}: ${f.rule} is high or critical`);
  }
  const handleFindings = got.filter((f) => f.rule === 'vsm.trustlet-handle-access');
  for (const f of handleFindings) {
    const e = expected.find((x) => x.rule === f.rule && x.handle === f.evidence.handle && x.ownerPid === (f.evidence.owner as { pid: number }).pid);
    if (e?.rights) t.deepEqual(f.evidence.rights, e.rights, `${label}: ${f.rule} names the rights`);
  }
}
