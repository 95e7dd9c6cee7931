// The VAD tree (EPROCESS.VadRoot): private regions as MMVAD_SHORT ('VadS'), mapped images as MMVAD
// ('Vad ') whose Subsection → ControlArea → FilePointer names the file; balanced by start address.
import { POOL_HEADER_BYTES } from '../../src/ntos/object-header.ts';
import { StructWriter } from '../structs.ts';
import type { KernelCtx } from './context.ts';
import type { ObjectSpace } from './object.ts';
import type { FileObjects } from './file-object.ts';
import type { VadRange } from './user-space.ts';

/** _MI_VAD_TYPE: VadNone (private or data), VadImageMap. */
const VAD_TYPE_NONE = 0;
const VAD_TYPE_IMAGE_MAP = 2;

/** Step: the nodes (allocated in start order) and the tree; returns the root VA and node count. */
export function buildVadTree(k: KernelCtx, o: ObjectSpace, files: FileObjects, vads: readonly VadRange[]): { root: bigint; count: number } {
  const { layout } = k;
  const nodes = [...vads]
    .sort((a, b) => (a.startVpn < b.startVpn ? -1 : 1))
    .map((v) => {
      const long = v.file !== null;
      const blk = o.pool.alloc(layout, layout.size(long ? '_MMVAD' : '_MMVAD_SHORT'), long ? 'Vad ' : 'VadS', 'large');
      if (long) new StructWriter(layout, '_MMVAD', blk.buf, POOL_HEADER_BYTES).set('Subsection', files.imageSubsection(v.file!));
      return { v, va: blk.headerVa + BigInt(POOL_HEADER_BYTES), w: new StructWriter(layout, '_MMVAD_SHORT', blk.buf, POOL_HEADER_BYTES) };
    });
  const link = (lo: number, hi: number, parent: bigint): bigint => {
    if (lo > hi) return 0n;
    const mid = (lo + hi) >> 1;
    const n = nodes[mid];
    n.w.set('StartingVpn', n.v.startVpn & 0xffffffffn);
    n.w.set('EndingVpn', n.v.endVpn & 0xffffffffn);
    n.w.set('StartingVpnHigh', n.v.startVpn >> 32n, true);
    n.w.set('EndingVpnHigh', n.v.endVpn >> 32n, true);
    n.w.set('VadNode.ParentValue', parent, true);
    n.w.set('ReferenceCount', 1, true);
    n.w.set('u.VadFlags.Protection', n.v.protection, true);
    n.w.set('u.VadFlags.PrivateMemory', n.v.private ? 1 : 0, true);
    n.w.set('u.VadFlags.VadType', n.v.file !== null ? VAD_TYPE_IMAGE_MAP : VAD_TYPE_NONE, true);
    n.w.set('u1.VadFlags1.CommitCharge', n.v.commit, true);
    n.w.set('u1.VadFlags1.MemCommit', n.v.private && n.v.commit > 0 ? 1 : 0, true);
    n.w.set('VadNode.Left', link(lo, mid - 1, n.va));
    n.w.set('VadNode.Right', link(mid + 1, hi, n.va));
    return n.va;
  };
  return { root: link(0, nodes.length - 1, 0n), count: nodes.length };
}
