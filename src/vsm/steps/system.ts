// Step 7: posture and the system verdict, and the system-wide findings (SYSTEM_RULES). The secure
// kernel's image is looked for only where it decides something (a raw image with readable trustlet
// pages): it costs a second pass over memory.
import type { DumpFormat, PhysicalMemory } from '../../dump/types.ts';
import { log } from '../../log.ts';
import { findMarkers } from '../../ntos/pool-scan.ts';
import { baselineUsable, type Baseline } from '../isolation.ts';
import { computePosture, systemVerdict } from '../posture.ts';
import { applyRules, rule, whenRule } from '../rules.ts';
import { SECURE_SYSTEM } from '../../ntos/process-names.ts';
import type { Posture, ProcessRecord, VsmVerdict } from '../types.ts';
import { notes, type StepNotes } from './notes.ts';

/** Marker of the secure kernel's image in memory: the CodeView PDB name of securekernel.exe. */
const SECURE_KERNEL_MARKER = Buffer.from('securekernel.pdb', 'latin1');

interface SystemContext {
  readonly processes: readonly ProcessRecord[];
  readonly posture: Posture;
  readonly verdict: VsmVerdict;
}

const anySecure = (c: SystemContext) => c.processes.some((p) => p.secure === true);

export const SYSTEM_RULES = [
  whenRule<SystemContext>({
    rule: 'vsm.not-running',
    title: 'VSM trustlets not running',
    severity: 'info',
    when: (c) => c.verdict === 'not-running',
    message: () => 'No secure process was found: Virtual Secure Mode and Credential Guard were not protecting this system.',
    evidence: () => ({}),
  }),
  whenRule<SystemContext>({
    rule: 'vsm.credential-guard-off',
    title: 'Credential Guard not running',
    severity: 'low',
    when: (c) => c.verdict !== 'not-running' && !c.posture.credentialGuard && anySecure(c),
    message: () => 'VSM was running but no live, secure LsaIso.exe was found: credentials were not isolated.',
    evidence: () => ({}),
  }),
].map(rule);

export interface SystemInput {
  readonly processes: readonly ProcessRecord[];
  readonly format: DumpFormat;
  readonly formatName: string;
  readonly pm: PhysicalMemory;
  readonly baseline: Baseline;
}

export interface SystemStep extends StepNotes {
  readonly posture: Posture;
  readonly verdict: VsmVerdict;
  readonly reason: string;
}

function readableTrustletInRaw(inp: SystemInput): boolean {
  return inp.format === 'raw' && inp.processes.some((p) => p.secure === true && p.name.text !== SECURE_SYSTEM && (p.isolation?.pagesReadable ?? 0) > 0);
}

export function systemStep(inp: SystemInput): SystemStep {
  const secureKernelMarkers = readableTrustletInRaw(inp) ? findMarkers(inp.pm, [SECURE_KERNEL_MARKER])[0] : [];
  const posture = computePosture({ processes: inp.processes, format: inp.format, formatName: inp.formatName, secureKernelMarkers });
  const sv = systemVerdict(inp.processes);
  const ctx: SystemContext = { processes: inp.processes, posture, verdict: sv.verdict };
  if (sv.verdict === 'indeterminate' && !baselineUsable(inp.baseline).usable && anySecure(ctx)) log().info({ baseline: inp.baseline }, 'baseline unusable');
  return { posture, verdict: sv.verdict, reason: sv.reason, ...notes({ findings: applyRules(SYSTEM_RULES, ctx) }) };
}
