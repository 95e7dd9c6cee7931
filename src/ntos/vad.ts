// The VAD tree (EPROCESS.VadRoot, an RTL_AVL_TREE of MMVAD_SHORT nodes): the user ranges a process
// has mapped, whether or not their pages are resident. Bounded in nodes and depth; a cycle or an
// unreadable node stops that branch and marks the result incomplete.
import type { VirtualMemory } from '../dump/types.ts';
import type { KernelLayout } from './layout.ts';
import { isKernelPointer } from './process.ts';

export interface VadRange {
  /** First and last virtual page number (inclusive). */
  readonly startVpn: bigint;
  readonly endVpn: bigint;
  /** Address of the MMVAD_SHORT (its flags and, for mapped views, the MMVAD's file: vad-info.ts). */
  readonly vad: bigint;
}

export interface VadWalk {
  readonly ranges: readonly VadRange[];
  readonly complete: boolean;
  readonly capHit: boolean;
}

export const DEFAULT_VAD_CAP = 65536;
const MAX_DEPTH = 96;
const USER_MAX_VPN = 0x7ffffffffn;

export function walkVads(vm: VirtualMemory, layout: KernelLayout, vadRootField: bigint, maxNodes = DEFAULT_VAD_CAP): VadWalk | undefined {
  const f = layout.fields;
  const sv = f['MMVAD_SHORT.StartingVpn'];
  const ev = f['MMVAD_SHORT.EndingVpn'];
  const left = f['RTL_BALANCED_NODE.Left']?.offset ?? 0;
  const right = f['RTL_BALANCED_NODE.Right']?.offset ?? 8;
  const node0 = f['MMVAD_SHORT.VadNode']?.offset ?? 0;
  if (!sv || !ev) return undefined;
  const svh = f['MMVAD_SHORT.StartingVpnHigh'];
  const evh = f['MMVAD_SHORT.EndingVpnHigh'];
  const span = Math.max(sv.offset + 4, ev.offset + 4, (svh?.offset ?? 0) + 1, (evh?.offset ?? 0) + 1, node0 + right + 8);
  const ranges: VadRange[] = [];
  const seen = new Set<bigint>();
  let complete = true;
  let capHit = false;
  const stack: [bigint, number][] = [];
  if (!isKernelPointer(vadRootField) && vadRootField !== 0n) return { ranges, complete: false, capHit };
  if (vadRootField !== 0n) stack.push([vadRootField, 0]);
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (seen.has(node) || depth > MAX_DEPTH) {
      complete = false;
      continue;
    }
    if (seen.size >= maxNodes) {
      capHit = true;
      complete = false;
      break;
    }
    seen.add(node);
    const vad = node - BigInt(node0);
    const b = vm.read(vad, span);
    if (!b) {
      complete = false;
      continue;
    }
    const start = BigInt(b.readUInt32LE(sv.offset)) | (svh ? BigInt(b[svh.offset]) << 32n : 0n);
    const end = BigInt(b.readUInt32LE(ev.offset)) | (evh ? BigInt(b[evh.offset]) << 32n : 0n);
    if (start <= end && end <= USER_MAX_VPN) ranges.push({ startVpn: start, endVpn: end, vad });
    else complete = false;
    for (const off of [left, right]) {
      const child = b.readBigUInt64LE(node0 + off);
      if (child === 0n) continue;
      if (!isKernelPointer(child)) {
        complete = false;
        continue;
      }
      stack.push([child, depth + 1]);
    }
  }
  ranges.sort((a, b) => (a.startVpn < b.startVpn ? -1 : a.startVpn > b.startVpn ? 1 : 0));
  return { ranges, complete, capHit };
}
