// The VAD tree: MMVAD_SHORT nodes in pool, balanced by start address (EPROCESS.VadRoot).
import { POOL_HEADER_BYTES } from '../../src/ntos/object-header.ts';
import { StructWriter } from '../structs.ts';
import type { KernelCtx } from './context.ts';
import type { ObjectSpace } from './object.ts';
import type { VadRange } from './user-space.ts';

/** MM_READWRITE in u.VadFlags.Protection. */
const VAD_PROTECTION_READWRITE = 4;

/** Step: the nodes (allocated in start order) and the tree; returns the root VA and node count. */
export function buildVadTree(k: KernelCtx, o: ObjectSpace, vads: readonly VadRange[]): { root: bigint; count: number } {
  const { layout } = k;
  const nodes = [...vads]
    .sort((a, b) => (a.startVpn < b.startVpn ? -1 : 1))
    .map((v) => {
      const blk = o.pool.alloc(layout, layout.size('_MMVAD_SHORT'), 'VadS', 'large');
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
    n.w.set('u.VadFlags.Protection', VAD_PROTECTION_READWRITE, true);
    n.w.set('VadNode.Left', link(lo, mid - 1, n.va));
    n.w.set('VadNode.Right', link(mid + 1, hi, n.va));
    return n.va;
  };
  return { root: link(0, nodes.length - 1, 0n), count: nodes.length };
}
