// Non-paged pool: POOL_HEADER-prefixed blocks in a 2 MiB large-page region and a 4 KiB-mapped
// region whose pages are scattered in RAM. Blocks are buffers flushed into memory at the end.
import { POOL_BLOCK_UNIT, POOL_HEADER_BYTES, POOL_SMALL_BLOCK_MAX } from '../../src/ntos/object-header.ts';
import { LARGE } from '../memory.ts';
import type { Rng } from '../rng.ts';
import { StructWriter, type Layout } from '../structs.ts';
import { align, poolTag, type KernelVm } from './context.ts';

export interface PoolBlock {
  readonly headerVa: bigint;
  readonly buf: Buffer;
}

/** POOL_HEADER.PoolType as written on the generator's blocks (non-paged). */
export const POOL_TYPE_NONPAGED = 2;

export class Pool {
  private largeNext: bigint;
  private smallNext: bigint;
  private readonly largeEnd: bigint;
  private lastBlock = { va: -1n, size: 0 };
  readonly blocks: PoolBlock[] = [];

  constructor(
    readonly base: bigint,
    readonly kvm: KernelVm,
    private readonly rng: Rng,
  ) {
    this.largeNext = base + 0x1000n * BigInt(rng.int(1, 16));
    this.largeEnd = base + BigInt(LARGE);
    this.smallNext = base + BigInt(LARGE) + 0x1000n * BigInt(rng.int(0, 8)) + 0x40n;
  }

  /** Allocates a block of `bodySize` bytes after a POOL_HEADER; returns its header VA and a zeroed buffer for the whole block. */
  alloc(layout: Layout, bodySize: number, tag: string, region: 'large' | 'small', poolType = POOL_TYPE_NONPAGED): PoolBlock {
    const total = align(POOL_HEADER_BYTES + bodySize, POOL_BLOCK_UNIT);
    if (total > POOL_SMALL_BLOCK_MAX) throw new Error(`pool block too large (${total})`);
    let va: bigint;
    if (region === 'large') {
      va = this.largeNext;
      // Small-pool blocks do not cross a page inside the large region.
      if ((va & 0xfffn) + BigInt(total) > 0x1000n) va = (va + 0xfffn) & ~0xfffn;
      if (va + BigInt(total) > this.largeEnd) return this.alloc(layout, bodySize, tag, 'small', poolType);
      this.largeNext = va + BigInt(total) + 16n * BigInt(this.rng.int(0, 6));
    } else {
      va = this.smallNext;
      this.smallNext = va + BigInt(total) + 16n * BigInt(this.rng.int(0, 6));
    }
    const buf = Buffer.alloc(total);
    const ph = new StructWriter(layout, '_POOL_HEADER', buf, 0);
    const samePage = this.lastBlock.va >= 0n && this.lastBlock.va >> 12n === va >> 12n;
    ph.set('PreviousSize', samePage ? this.lastBlock.size / POOL_BLOCK_UNIT : 0);
    ph.set('PoolIndex', 0);
    ph.set('BlockSize', total / POOL_BLOCK_UNIT);
    ph.set('PoolType', poolType);
    ph.set('PoolTag', poolTag(tag));
    this.lastBlock = { va, size: total };
    this.kvm.ensure(va, total);
    const block = { headerVa: va, buf };
    this.blocks.push(block);
    return block;
  }
}
