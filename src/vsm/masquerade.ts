// Low-noise masquerading findings from rule tables (issue 14): a system binary's name running from
// another directory, a parent-child pair Windows never makes, a second instance of a one-per-system
// process, and a name made to look like a system binary's. Each rule only fires on facts the dump
// shows (a known path, a live parent that started before its child); unknown facts never fire.
import { compareCodeUnits } from '../ntos/strings.ts';
import { MASQUERADE_NAME, MASQUERADING } from './attack.ts';
import { baseName, fullProcessName } from './full-name.ts';
import { rule, applyRules, type FindingRule } from './rules.ts';
import type { Finding, ProcessRecord } from './types.ts';

const SYSTEM32 = '\\Windows\\System32\\';
const SYSWOW64 = '\\Windows\\SysWOW64\\';

/** System binaries (lower case) → the only directories (volume-relative; compared case-insensitively) Windows runs them from. */
export const SYSTEM_BINARY_DIRS: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ...['smss.exe', 'csrss.exe', 'wininit.exe', 'winlogon.exe', 'services.exe', 'lsass.exe', 'lsaiso.exe', 'lsm.exe'].map((n): [string, string[]] => [n, [SYSTEM32]]),
  ...['svchost.exe', 'rundll32.exe', 'taskhostw.exe', 'dllhost.exe', 'conhost.exe', 'spoolsv.exe', 'userinit.exe', 'sihost.exe', 'regsvr32.exe', 'cmd.exe', 'ctfmon.exe', 'dwm.exe'].map((n): [string, string[]] => [n, [SYSTEM32, SYSWOW64]]),
  ['explorer.exe', ['\\Windows\\', SYSWOW64]],
]);

/** Child → the only parents Windows starts it from (lower case). A parent that has exited is not judged. */
export const EXPECTED_PARENTS: ReadonlyMap<string, readonly string[]> = new Map([
  ['svchost.exe', ['services.exe']],
  ['spoolsv.exe', ['services.exe']],
  ['services.exe', ['wininit.exe']],
  ['lsass.exe', ['wininit.exe']],
  ['lsaiso.exe', ['wininit.exe']],
  ['wininit.exe', ['smss.exe']],
  ['winlogon.exe', ['smss.exe']],
  ['csrss.exe', ['smss.exe']],
  ['smss.exe', ['system', 'smss.exe']],
]);

/** One live instance per system (csrss/winlogon are per session; smss starts short-lived copies). */
export const SINGLETONS: readonly string[] = ['lsass.exe', 'lsaiso.exe', 'services.exe', 'wininit.exe'];

/** Names near a system binary's that are real Windows binaries themselves (never an imitation). */
const GENUINE_NEAR_NAMES: readonly string[] = ['sihost.exe', 'dllhost.exe', 'conhost.exe', 'taskhost.exe', 'taskhostw.exe', 'lsm.exe', 'smss.exe', 'csrss.exe', 'lsass.exe', 'services.exe', 'svchost.exe', 'explorer.exe', 'wininit.exe', 'winlogon.exe', 'userinit.exe', 'spoolsv.exe', 'lsaiso.exe', 'rundll32.exe', 'rundll.exe', 'dashost.exe', 'wlanext.exe', 'winint.exe'];
/** Lookalike characters folded to what they imitate (Cyrillic/Greek letters, digits). */
const HOMOGLYPHS: Readonly<Record<string, string>> = { '0': 'o', '1': 'l', '3': 'e', '5': 's', а: 'a', е: 'e', о: 'o', р: 'p', с: 'c', х: 'x', ѕ: 's', і: 'i', ј: 'j', ӏ: 'l', ο: 'o', α: 'a', ν: 'v' };

/** Edit distance with adjacent transpositions (optimal string alignment): "scvhost" is 1 from "svchost". */
export function editDistance(a: string, b: string): number {
  const w = b.length + 1;
  const d = new Int32Array((a.length + 1) * w); // d[i * w + j]: distance between a[0, i) and b[0, j)
  for (let i = 0; i <= a.length; i++) d[i * w] = i;
  for (let j = 0; j <= b.length; j++) d[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1, d[(i - 1) * w + j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * w + j - 2] + 1);
      d[i * w + j] = v;
    }
  }
  return d[a.length * w + b.length];
}

/** Whatever fold() would change: "rn", "vv" or a lookalike character. */
const FOLDABLE = new RegExp(`rn|vv|[${Object.keys(HOMOGLYPHS).join('')}]`, 'u');

function fold(s: string): string {
  if (!FOLDABLE.test(s)) return s;
  return [...s.replace(/rn/g, 'm').replace(/vv/g, 'w')].map((c) => HOMOGLYPHS[c] ?? c).join('');
}

/** The system binaries an imitation is judged against: lower-case name and stem (4 characters or more). */
const IMITATED: readonly { readonly target: string; readonly stem: string }[] = [...SYSTEM_BINARY_DIRS.keys()]
  .map((target) => ({ target, stem: target.slice(0, -4) }))
  .filter((t) => t.stem.length >= 4);

/** The system binary `name` imitates (edit distance 1–2 on the name without ".exe", or equal after folding lookalikes), if any. */
export function imitatedName(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (!lower.endsWith('.exe') || GENUINE_NEAR_NAMES.includes(lower) || SYSTEM_BINARY_DIRS.has(lower)) return undefined;
  const stem = lower.slice(0, -4);
  if (stem.length < 4 || stem.length > 32) return undefined;
  const folded = fold(stem);
  for (const { target, stem: t } of IMITATED) {
    if (folded === t) return target;
    const most = t.length >= 6 ? 2 : 1;
    // The distance is at least the difference in length: no need to compute it past `most`.
    if (Math.abs(stem.length - t.length) > most) continue;
    const dist = editDistance(stem, t);
    if (dist >= 1 && dist <= most) return target;
  }
  return undefined;
}

/** The volume-relative directory (lower case, ending in "\") of a DOS or NT path; undefined when its volume form is not known. */
export function volumeDirectory(p: Pick<ProcessRecord, 'imagePath'> & { readonly imagePathDos?: string | null }): string | undefined {
  const path = p.imagePathDos ?? p.imagePath?.text;
  if (!path) return undefined;
  const rel = /^[A-Za-z]:(\\.*)$/.exec(path)?.[1] ?? /^\\Device\\HarddiskVolume\d+(\\.*)$/i.exec(path)?.[1] ?? /^\\\?\?\\[A-Za-z]:(\\.*)$/.exec(path)?.[1] ?? (/^\\SystemRoot(\\.*)$/i.exec(path) ? '\\Windows' + /^\\SystemRoot(\\.*)$/i.exec(path)![1] : undefined);
  if (!rel) return undefined;
  return rel.slice(0, rel.lastIndexOf('\\') + 1).toLowerCase();
}

/** The process's parent: the process with PID = its PPID that started no later than it (the latest such, against PID reuse). */
export function parentOf(p: ProcessRecord, processes: readonly ProcessRecord[]): ProcessRecord | undefined {
  if (p.ppid === null || p.ppid === undefined) return undefined;
  const cands = processes.filter((x) => x !== p && x.pid === p.ppid && (x.createTime === null || p.createTime === null || x.createTime <= p.createTime));
  return cands.sort((a, b) => compareCodeUnits(b.createTime ?? '', a.createTime ?? ''))[0];
}

interface Ctx {
  readonly processes: readonly ProcessRecord[];
}
type Match = { readonly p: ProcessRecord; readonly name: string; readonly detail: string };
const ev = (m: Match): Finding['evidence'] => ({ pid: m.p.pid, ...(m.p.eprocess.va ? { eprocessVa: m.p.eprocess.va } : {}), ...(m.p.eprocess.pa ? { eprocessPa: m.p.eprocess.pa } : {}) });
const label = (m: Match) => `${m.name} (PID ${m.p.pid})`;

export const MASQUERADE_RULES: readonly FindingRule<Ctx, unknown>[] = [
  rule<Ctx, Match>({
    rule: 'ntos.system-binary-path',
    title: 'System binary name running from an unexpected directory',
    severity: 'high',
    attack: MASQUERADE_NAME,
    matches: ({ processes }) =>
      processes.flatMap((p) => {
        const name = fullProcessName(p);
        const dirs = SYSTEM_BINARY_DIRS.get(name.toLowerCase());
        const dir = volumeDirectory(p);
        if (!dirs || dir === undefined || dirs.some((d) => d.toLowerCase() === dir)) return [];
        return [{ p, name, detail: p.imagePathDos ?? p.imagePath?.text ?? '' }];
      }),
    message: (m) => `${label(m)} runs from ${m.detail}; Windows runs ${m.name} only from ${SYSTEM_BINARY_DIRS.get(m.name.toLowerCase())!.map((d) => `%SystemDrive%${d}`).join(' or ')}.`,
    evidence: (m) => ({ ...ev(m), path: m.detail }),
  }),
  rule<Ctx, Match & { parent: ProcessRecord }>({
    rule: 'ntos.unexpected-parent',
    title: 'Parent-child pair Windows never makes',
    severity: 'high',
    attack: MASQUERADE_NAME,
    matches: ({ processes }) =>
      processes.flatMap((p) => {
        const name = fullProcessName(p);
        const allowed = EXPECTED_PARENTS.get(name.toLowerCase());
        const parent = allowed ? parentOf(p, processes) : undefined;
        if (!allowed || !parent || allowed.includes(fullProcessName(parent).toLowerCase())) return [];
        return [{ p, name, parent, detail: `${fullProcessName(parent)} (PID ${parent.pid})` }];
      }),
    message: (m) => `${label(m)} was started by ${m.detail}; Windows starts ${m.name} only from ${EXPECTED_PARENTS.get(m.name.toLowerCase())!.join(' or ')}.`,
    evidence: (m) => ({ ...ev(m), parentPid: m.parent.pid, parentName: fullProcessName(m.parent) }),
  }),
  rule<Ctx, Match & { first: ProcessRecord }>({
    rule: 'ntos.duplicate-system-process',
    title: 'Second instance of a one-per-system process',
    severity: 'high',
    attack: MASQUERADE_NAME,
    matches: ({ processes }) =>
      SINGLETONS.flatMap((n) => {
        const live = processes.filter((p) => !p.terminated && fullProcessName(p).toLowerCase() === n).sort((a, b) => compareCodeUnits(a.createTime ?? '9', b.createTime ?? '9'));
        return live.slice(1).map((p) => ({ p, name: fullProcessName(p), first: live[0], detail: '' }));
      }),
    message: (m) => `${label(m)} is a second live ${m.name} (the first is PID ${m.first.pid}); Windows runs one.`,
    evidence: (m) => ({ ...ev(m), firstPid: m.first.pid }),
  }),
  rule<Ctx, Match & { target: string }>({
    rule: 'ntos.name-imitation',
    title: 'Process name imitates a system binary',
    severity: 'medium',
    attack: MASQUERADING,
    matches: ({ processes }) =>
      processes.flatMap((p) => {
        const name = fullProcessName(p);
        const target = imitatedName(name);
        return target ? [{ p, name, target, detail: baseName(name) }] : [];
      }),
    message: (m) => `${label(m)} is named like the system binary ${m.target} but is not it.`,
    evidence: (m) => ({ ...ev(m), imitates: m.target }),
  }),
];

export function masqueradeFindings(processes: readonly ProcessRecord[]): Finding[] {
  return applyRules(MASQUERADE_RULES, { processes });
}
