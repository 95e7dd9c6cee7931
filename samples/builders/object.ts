// Executive objects in pool: POOL_HEADER, the optional headers InfoMask selects, OBJECT_HEADER
// (TypeIndex encoded with ObHeaderCookie as Windows 10+ stores it), then the body. Also the
// UNICODE_STRING helpers every named object needs.
import { OBJECT_HEADER_INFO, POOL_HEADER_BYTES, encodeTypeIndex, optionalHeaderOffset } from '../../src/ntos/object-header.ts';
import { StructWriter, utf16 } from '../structs.ts';
import type { KernelCtx } from './context.ts';
import { Pool, type PoolBlock } from './pool.ts';

export interface PoolObject {
  readonly block: PoolBlock;
  /** VA of the OBJECT_HEADER. */
  readonly ohVa: bigint;
  /** VA of the object body. */
  readonly bodyVa: bigint;
  /** Offset of the body inside `block.buf`. */
  readonly bodyOff: number;
}

/** Pool, header cookie and the object allocator. */
export interface ObjectSpace {
  readonly pool: Pool;
  readonly obHeaderCookie: number;
  /**
   * An object in pool: POOL_HEADER, OBJECT_HEADER_QUOTA_INFO, (OBJECT_HEADER_NAME_INFO when `name`
   * is given), OBJECT_HEADER, body.
   */
  allocObject(bodySize: number, tag: string, typeIndex: number, region: 'large' | 'small', opts?: { name?: string }): PoolObject;
  /** A UNICODE_STRING's characters in their own pool block; returns their VA. */
  poolString(s: string, tag: string): bigint;
  /** `count` whole, page-aligned kernel pages (paged pool), mapped; returns the first VA. */
  allocPages(count: number): bigint;
}

/** Whole-page allocations (handle-table pages) start this far above the non-paged pool. */
const PAGED_POOL_GAP = 0x100000000n;

/** Writes Length, MaximumLength (with the terminator) and Buffer of the UNICODE_STRING at `path`. */
export function unicodeString(sw: StructWriter, path: string, bufVa: bigint, s: string): void {
  const len = Buffer.byteLength(s, 'utf16le');
  sw.set(`${path}.Length`, len);
  sw.set(`${path}.MaximumLength`, len + 2);
  sw.set(`${path}.Buffer`, bufVa);
}

/** Step: the pool (its own generator) and ObHeaderCookie (main generator), in that order. */
export function createObjectSpace(k: KernelCtx): ObjectSpace {
  const { layout, types, rng } = k;
  const pool = new Pool(k.poolBase, k.kvm, rng.fork('pool'));
  const obHeaderCookie = rng.int(1, 256);
  const ohSize = layout.off('_OBJECT_HEADER', 'Body');
  const quotaSize = types.structSize('_OBJECT_HEADER_QUOTA_INFO') ?? 0x20;
  const poolString = (s: string, tag: string): bigint => {
    const data = Buffer.concat([utf16(s), Buffer.alloc(2)]);
    const b = pool.alloc(layout, data.length, tag, 'large');
    data.copy(b.buf, POOL_HEADER_BYTES);
    return b.headerVa + BigInt(POOL_HEADER_BYTES);
  };
  const nameInfoSize = types.structSize('_OBJECT_HEADER_NAME_INFO') ?? 0x20;
  const allocObject = (bodySize: number, tag: string, typeIndex: number, region: 'large' | 'small', opts: { name?: string } = {}): PoolObject => {
    // The name string is allocated first so that the object's own block stays whole.
    const nameVa = opts.name !== undefined ? poolString(opts.name, 'ObNm') : 0n;
    const infoMask = OBJECT_HEADER_INFO.QUOTA | (opts.name !== undefined ? OBJECT_HEADER_INFO.NAME : 0);
    const optional = opts.name !== undefined ? quotaSize + nameInfoSize : quotaSize;
    const block = pool.alloc(layout, optional + ohSize + bodySize, tag, region);
    const ohOff = POOL_HEADER_BYTES + optional;
    const ohVa = block.headerVa + BigInt(ohOff);
    const oh = new StructWriter(layout, '_OBJECT_HEADER', block.buf, ohOff);
    oh.set('PointerCount', rng.int(0x8, 0x40000));
    oh.set('HandleCount', rng.int(1, 0x40));
    oh.set('TypeIndex', encodeTypeIndex(typeIndex, obHeaderCookie, ohVa));
    oh.set('InfoMask', infoMask);
    oh.set('SecurityDescriptor', k.poolBase + 0x1f0000n + BigInt(rng.int(0, 0x1000)) * 16n + 0xfn, true);
    const quota = new StructWriter(layout, '_OBJECT_HEADER_QUOTA_INFO', block.buf, POOL_HEADER_BYTES);
    quota.set('PagedPoolCharge', 0x1000, true);
    quota.set('NonPagedPoolCharge', bodySize, true);
    if (opts.name !== undefined) {
      const niOff = ohOff - optionalHeaderOffset(infoMask, OBJECT_HEADER_INFO.NAME)!;
      unicodeString(new StructWriter(layout, '_OBJECT_HEADER_NAME_INFO', block.buf, niOff), 'Name', nameVa, opts.name);
      new StructWriter(layout, '_OBJECT_HEADER_NAME_INFO', block.buf, niOff).set('ReferenceCount', 1, true);
    }
    return { block, ohVa, bodyVa: ohVa + BigInt(ohSize), bodyOff: ohOff + ohSize };
  };
  let pageNext = k.poolBase + PAGED_POOL_GAP;
  const allocPages = (count: number): bigint => {
    const va = pageNext;
    pageNext += BigInt(count) * 0x1000n;
    k.kvm.ensure(va, count * 0x1000);
    return va;
  };
  return { pool, obHeaderCookie, allocObject, poolString, allocPages };
}
