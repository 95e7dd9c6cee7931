// What each VAD of a process says beyond its range (vad.ts walks the tree): protection
// (MMVAD_SHORT.u.VadFlags.Protection, an MM index → PAGE_* names), private or mapped
// (VadFlags.PrivateMemory), the mapped file (MMVAD.Subsection → SUBSECTION.ControlArea →
// CONTROL_AREA.FilePointer, an EX_FAST_REF → FILE_OBJECT.FileName) and the commit charge in pages
// (u1.VadFlags1.CommitCharge; u.VadFlags.CommitCharge on 7601), as Volatility 3's vadinfo reads them.
//
// Entry point for the analysis: `walkVadInfo(vm, layout, eprocessVa, { maxVads })`.
import type { VirtualMemory } from '../dump/types.ts';
import { PAGE_SHIFT } from '../dump/types.ts';
import { hex } from '../dump/numbers.ts';
import type { KernelLayout, LayoutFieldKey } from './layout.ts';
import { mmProtectionExecutable, mmProtectionName } from './page-protection.ts';
import { isKernelPointer, readUnicodeString } from './process.ts';
import { fieldValue, missingFields, readFields } from './struct-read.ts';
import { fastRefObject } from './token.ts';
import { DEFAULT_VAD_CAP, walkVads } from './vad.ts';
import { IssueLog, unreadableList, walkResult, type Walk } from './walk-result.ts';

export interface VadInfo {
  /** First byte ("0x…"). */
  readonly start: string;
  /** Last byte, inclusive (as Volatility prints it). */
  readonly end: string;
  /** "PAGE_EXECUTE_READWRITE" …; null when the flags are unreadable. */
  readonly protection: string | null;
  /** True when the protection allows execution (null when unreadable). */
  readonly executable: boolean | null;
  readonly private: boolean | null;
  /** Mapped file name (FILE_OBJECT.FileName) of a mapped view, null otherwise or when unreadable. */
  readonly file: string | null;
  /** Committed pages. */
  readonly commit: number | null;
  /** MMVAD address ("0x…"). */
  readonly vad: string;
  readonly unreadable: readonly string[];
}

export interface VadInfoOptions {
  readonly maxVads?: number;
}

const VAD_FIELDS: readonly LayoutFieldKey[] = ['MMVAD_SHORT.Protection', 'MMVAD_SHORT.PrivateMemory', 'MMVAD_SHORT.CommitCharge', 'MMVAD.Subsection'];

/** The file mapped by the (long) VAD at `vad`, or null. */
export function vadFileName(vm: VirtualMemory, layout: KernelLayout, subsection: bigint): string | null {
  const ca = layout.fields['SUBSECTION.ControlArea'];
  const fp = layout.fields['CONTROL_AREA.FilePointer'];
  const fn = layout.fields['FILE_OBJECT.FileName'];
  if (!ca || !fp || !fn || !isKernelPointer(subsection)) return null;
  const control = vm.readU64(subsection + BigInt(ca.offset));
  if (control === undefined || !isKernelPointer(control)) return null;
  const ref = vm.readU64(control + BigInt(fp.offset));
  if (ref === undefined) return null;
  const file = fastRefObject(layout, ref);
  if (!isKernelPointer(file)) return null;
  return readUnicodeString(vm, layout, file + BigInt(fn.offset))?.text ?? null;
}

export function readVadInfo(vm: VirtualMemory, layout: KernelLayout, vad: bigint, startVpn: bigint, endVpn: bigint): VadInfo {
  const obj = readFields(vm, layout, vad, VAD_FIELDS);
  const unreadable: string[] = [];
  const prot = fieldValue(obj, layout, 'MMVAD_SHORT.Protection');
  const priv = fieldValue(obj, layout, 'MMVAD_SHORT.PrivateMemory');
  const commit = fieldValue(obj, layout, 'MMVAD_SHORT.CommitCharge');
  if (prot === undefined) unreadable.push('protection');
  if (priv === undefined) unreadable.push('private');
  if (commit === undefined) unreadable.push('commit');
  let file: string | null = null;
  if (priv === 0n) {
    const sub = fieldValue(obj, layout, 'MMVAD.Subsection');
    if (sub !== undefined && sub !== 0n) {
      file = vadFileName(vm, layout, sub);
      if (file === null) unreadable.push('file');
    }
  }
  return {
    start: hex(startVpn << BigInt(PAGE_SHIFT)),
    end: hex(((endVpn + 1n) << BigInt(PAGE_SHIFT)) - 1n),
    protection: prot === undefined ? null : mmProtectionName(Number(prot)),
    executable: prot === undefined ? null : mmProtectionExecutable(Number(prot)),
    private: priv === undefined ? null : priv !== 0n,
    file,
    commit: commit === undefined ? null : Number(commit),
    vad: hex(vad),
    unreadable: unreadableList(unreadable),
  };
}

/** Every VAD of the process (EPROCESS.VadRoot), in address order, with its flags and file. */
export function walkVadInfo(vm: VirtualMemory, layout: KernelLayout, eprocessVa: bigint, opts: VadInfoOptions = {}): Walk<VadInfo> {
  const cap = opts.maxVads ?? DEFAULT_VAD_CAP;
  const log = new IssueLog();
  const rootF = layout.fields['EPROCESS.VadRoot'];
  // 7601 keeps an MM_AVL_TABLE with LeftChild/RightChild in the VAD; only the RTL_AVL_TREE form (9600+) is walked.
  const need = missingFields(layout, ['EPROCESS.VadRoot', 'MMVAD_SHORT.VadNode', 'RTL_BALANCED_NODE.Left', 'RTL_BALANCED_NODE.Right']);
  if (!rootF || need.length > 0) {
    log.add('layout-missing', `the layout lacks ${need.join(', ')}: the VAD tree (RTL_AVL_TREE of 9600+) cannot be walked`);
    return walkResult([], log, cap, false);
  }
  const root = vm.readU64(eprocessVa + BigInt(rootF.offset));
  if (root === undefined) {
    log.add('unreadable', `EPROCESS.VadRoot of the process at ${hex(eprocessVa)} is not in the dump`, eprocessVa);
    return walkResult([], log, cap, false);
  }
  const tree = walkVads(vm, layout, root, cap);
  if (!tree) {
    log.add('layout-missing', 'the layout lacks MMVAD_SHORT.StartingVpn/EndingVpn');
    return walkResult([], log, cap, false);
  }
  if (tree.capHit) log.add('cap', `the VAD walk stopped at its cap of ${cap} nodes`, root);
  else if (!tree.complete) log.add('unreadable', 'part of the VAD tree is unreadable, not canonical, loops or is too deep', root);
  const items = tree.ranges.map((r) => readVadInfo(vm, layout, r.vad, r.startVpn, r.endVpn));
  return walkResult(items, log, cap, tree.capHit);
}
