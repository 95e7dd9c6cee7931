// Step 5: one ProcessRecord per merged process object, and the findings about the process itself
// (PROCESS_RULES): hidden from the list, trustlet names and secure markers that do not agree.
import type { VirtualMemory } from '../../dump/types.ts';
import type { KernelLayout } from '../../ntos/layout.ts';
import type { ListWalk } from '../../ntos/process-list.ts';
import type { WorkAhead } from '../work-ahead.ts';
import { filetimeToIso, hex } from '../../dump/numbers.ts';
import { hasExited } from '../../ntos/process.ts';
import { MASQUERADE_NAME, ROOTKIT } from '../attack.ts';
import { decodeProtection } from '../protection.ts';
import { applyRules, rule, whenRule } from '../rules.ts';
import { judgeSecure, type SecureJudgement } from '../secure.ts';
import type { Finding, ProcessRecord } from '../types.ts';
import type { Merged } from './merge.ts';
import { notes, plural, type StepNotes } from './notes.ts';

/** A record still being filled (isolation and internals are added by later steps). */
export type Draft = { -readonly [K in keyof ProcessRecord]: ProcessRecord[K] };

export interface ProcessDraft {
  readonly rec: Draft;
  readonly m: Merged;
}

/** What the steps that read below each process (details, internals) take: the drafts and the kernel they live in. */
export interface ProcessStepInput {
  readonly drafts: readonly ProcessDraft[];
  readonly vm: VirtualMemory;
  readonly layout: KernelLayout;
  readonly base: bigint | null;
  readonly vmForDtb: (dtb: number) => VirtualMemory;
  /** Reads done ahead (while the evidence pass waited for its hash), taken where they fit. */
  readonly ahead?: WorkAhead;
}

interface ProcessContext {
  readonly rec: Draft;
  readonly sj: SecureJudgement;
}

/** The evidence every process finding starts from. */
export function processEvidence(rec: Pick<ProcessRecord, 'pid' | 'eprocess'>): Finding['evidence'] {
  return { pid: rec.pid, ...(rec.eprocess.va ? { eprocessVa: rec.eprocess.va } : {}), ...(rec.eprocess.pa ? { eprocessPa: rec.eprocess.pa } : {}) };
}

const anomaly = (kind: NonNullable<SecureJudgement['anomaly']>['kind']) => (c: ProcessContext) => c.sj.anomaly?.kind === kind;
const anomalyMessage = (c: ProcessContext) => `${c.sj.anomaly!.message} (PID ${c.rec.pid}).`;
const evidenceOf = (c: ProcessContext) => processEvidence(c.rec);

export const PROCESS_RULES = [
  whenRule<ProcessContext>({
    rule: 'ntos.process-unlinked',
    title: 'Process hidden from the process list',
    severity: 'high',
    attack: ROOTKIT,
    when: (c) => c.rec.unlinked,
    message: (c) => `${c.rec.name.text} (PID ${c.rec.pid}) is alive in memory but not on the active process list: possible DKOM unlinking.`,
    evidence: evidenceOf,
  }),
  whenRule<ProcessContext>({ rule: 'vsm.trustlet-not-secure', title: 'Trustlet name on a non-secure process', severity: 'high', attack: MASQUERADE_NAME, when: anomaly('trustlet-not-secure'), message: anomalyMessage, evidence: evidenceOf }),
  whenRule<ProcessContext>({ rule: 'vsm.secure-unknown-name', title: 'Secure process with an unknown name', severity: 'medium', when: anomaly('secure-unknown-name'), message: anomalyMessage, evidence: evidenceOf }),
  whenRule<ProcessContext>({ rule: 'vsm.trustlet-id-mismatch', title: 'Trustlet ID does not match its name', severity: 'medium', when: anomaly('trustlet-id-mismatch'), message: anomalyMessage, evidence: evidenceOf }),
].map(rule);

/** The record of one process object; `listCovered`: the whole list was read, so absence from it means something. */
export function processRecord(m: Merged, listCovered: boolean): { rec: Draft; sj: SecureJudgement } {
  const p = m.info;
  const name = p.imageFileName ?? { text: '' };
  const terminated = hasExited(p);
  const sj = judgeSecure(p, name.text);
  const unreadable = [...p.unreadable];
  if (p.protection === undefined && !unreadable.includes('protection')) unreadable.push('protection');
  const rec: Draft = {
    // Listed and scanned objects have passed implausibilities() (not lenient): PID and DTB were read.
    pid: Number(p.pid!),
    ppid: p.ppid === undefined ? null : Number(p.ppid),
    name,
    imagePath: p.imagePath,
    createTime: filetimeToIso(p.createTime),
    exitTime: filetimeToIso(p.exitTime),
    sessionId: p.sessionId,
    peb: p.peb !== undefined && p.peb !== 0n ? hex(p.peb) : null,
    dtb: hex(p.dtb!),
    // VA null only when no pointer or page table leads back to a scanned object (PA only). The shared
    // type still says Hex: the reports layer is asked to accept null (see the lead's note).
    eprocess: { va: (m.va !== null ? hex(m.va) : null) as string, pa: m.pa !== null ? hex(m.pa) : null },
    wow64: p.wow64 === true,
    sources: (['list', 'scan'] as const).filter((s) => m.sources.has(s)),
    terminated,
    // "Not on the list" is a finding only when the whole list was read; otherwise it may sit in the unread part.
    unlinked: !m.sources.has('list') && !terminated && listCovered,
    protection: p.protection === undefined ? null : decodeProtection(p.protection),
    secure: sj.secure,
    trustlet: sj.trustlet,
  };
  if (unreadable.length) rec.unreadableFields = unreadable;
  return { rec, sj };
}

export interface RecordsStep extends StepNotes {
  readonly drafts: readonly ProcessDraft[];
}

export function processRecords(merged: readonly Merged[], list: ListWalk | undefined): RecordsStep {
  const drafts: ProcessDraft[] = [];
  const findings: Finding[] = [];
  for (const m of merged) {
    const { rec, sj } = processRecord(m, list !== undefined && list.covered);
    drafts.push({ rec, m });
    findings.push(...applyRules(PROCESS_RULES, { rec, sj }));
  }
  const reasons: string[] = [];
  const unplaced = drafts.filter(({ rec }) => !rec.sources.includes('list') && !rec.terminated).length;
  if (list && !list.covered && unplaced > 0)
    reasons.push(`${unplaced} process${plural(unplaced, 'es were', ' was')} found only by the scan; with part of the list unread, whether ${plural(unplaced, 'they were', 'it was')} unlinked cannot be told.`);
  const unreadableCount = drafts.filter(({ rec }) => rec.unreadableFields?.length).length;
  if (unreadableCount) reasons.push(`${unreadableCount} process${plural(unreadableCount, 'es have', ' has')} fields that could not be read from the dump.`);
  return { drafts, ...notes({ findings, reasons }) };
}
