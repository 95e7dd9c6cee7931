// Mutators: each draws one edit (an Op) for a seed. Generic ones (bit flips, interesting values,
// chunk edits) work on any bytes; structure-aware ones use what the seed builder recorded about
// the seed: header fields, pointer-like qwords (list links), PTE-like qwords, JSON paths.
import type { Op } from './ops.ts';
import type { Rng } from './rng.ts';

/** A header field the format defines (count, size, offset, type…). */
export interface Field {
  readonly at: number;
  readonly size: 1 | 2 | 4 | 8;
  readonly name: string;
}

export interface Seed {
  readonly name: string;
  readonly data: Buffer;
  /** Known fields at fixed offsets. */
  readonly fields: readonly Field[];
  /** [offset, length] regions where the parser looks hardest (headers, tables, objects). */
  readonly hot: ReadonlyArray<readonly [number, number]>;
  /** Offsets of qwords holding canonical kernel pointers (list links, object pointers). */
  readonly pointers?: readonly number[];
  /** Offsets of qwords holding present PTEs (page-table entries). */
  readonly ptes?: readonly number[];
  /** For JSON seeds: paths worth replacing. */
  readonly jsonPaths?: ReadonlyArray<ReadonlyArray<string | number>>;
}

const PAGE_U32 = 0x45474150; // 'PAGE' little-endian

const U8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff];
const U16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0x1000, 0x0fff];
const U32 = [0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, PAGE_U32, 0x1000, 0xfff, 0x10000, 0x100000, 0x3fffffff, 0x40000000, 0x00100000];
const U64: bigint[] = [
  ...U32.map(BigInt),
  0xffffffffffffffffn,
  0x8000000000000000n,
  0x7fffffffffffffffn,
  1n << 32n,
  1n << 40n,
  (1n << 40n) - 1n,
  1n << 52n,
  0x4547415045474150n,
  0xfffff80000000000n,
  0xffff800000000000n,
  0x0000800000000000n,
  0x00007ffffffff000n,
  0xfffff6fb7dbed000n,
];

export function interesting(rng: Rng, size: 1 | 2 | 4 | 8): Buffer {
  const b = Buffer.alloc(size);
  switch (size) {
    case 1:
      b.writeUInt8(rng.pick(U8));
      break;
    case 2:
      b.writeUInt16LE(rng.pick(U16));
      break;
    case 4:
      b.writeUInt32LE(rng.pick(U32));
      break;
    case 8:
      b.writeBigUInt64LE(rng.pick(U64));
      break;
  }
  return b;
}

/** An offset, biased towards the seed's hot regions. */
function offset(rng: Rng, seed: Seed, len: number, align = 1): number {
  const n = Math.max(1, len);
  if (seed.hot.length > 0 && rng.chance(0.7)) {
    const [at, hl] = rng.pick(seed.hot);
    const o = at + rng.below(Math.max(1, hl));
    return Math.min(o - (o % align), Math.max(0, seed.data.length - 1));
  }
  const o = rng.below(Math.max(1, seed.data.length - n + 1));
  return o - (o % align);
}

function hex(b: Buffer): string {
  return b.toString('hex');
}

export type Mutator = (rng: Rng, seed: Seed) => Op;

export const flipBit: Mutator = (rng, seed) => ({ op: 'flip', at: offset(rng, seed, 1), bit: rng.below(8) });

export const interestingValue: Mutator = (rng, seed) => {
  const size = rng.pick([1, 2, 4, 4, 8, 8] as const);
  return { op: 'set', at: offset(rng, seed, size, rng.chance(0.8) ? size : 1), hex: hex(interesting(rng, size)) };
};

export const randomBytes: Mutator = (rng, seed) => {
  const n = rng.range(1, 16);
  return { op: 'set', at: offset(rng, seed, n), hex: hex(rng.bytes(n)) };
};

export const chunk: Mutator = (rng, seed) => {
  const size = seed.data.length;
  const len = rng.pick([1, 4, 8, 16, 64, 512, 4096, 4096, 0x2000, 0x10000]);
  switch (rng.below(7)) {
    case 0:
      return { op: 'truncate', len: rng.chance(0.5) ? offset(rng, seed, 1) : rng.below(size + 1) };
    case 1:
      return { op: 'extend', len: rng.pick([1, 7, 4096, 0x10000, 0x100000]), fill: rng.pick([0, 0xff, 0x41]) };
    case 2:
      return { op: 'dup', from: offset(rng, seed, len), len, to: rng.chance(0.5) ? offset(rng, seed, 1) : rng.below(size + 1) };
    case 3:
      return { op: 'copy', from: offset(rng, seed, len), len, to: offset(rng, seed, len) };
    case 4:
      return { op: 'delete', at: offset(rng, seed, len), len };
    case 5:
      return { op: 'fill', at: offset(rng, seed, len), len, value: rng.pick([0, 0xff, 0x41]) };
    default:
      // A `PAGE`-filled stretch, as Windows pads unused header space (and as a hostile file might).
      return { op: 'set', at: offset(rng, seed, 16, 4), hex: Buffer.from('PAGE'.repeat(rng.pick([1, 2, 4, 16, 64]))).toString('hex') };
  }
};

/** A known header field set to an interesting, nearby or random value. */
export const headerField: Mutator = (rng, seed) => {
  if (seed.fields.length === 0) return interestingValue(rng, seed);
  const f = rng.pick(seed.fields);
  const b = Buffer.alloc(f.size);
  const r = rng.below(4);
  if (r === 0 || r === 1) return { op: 'set', at: f.at, hex: hex(interesting(rng, f.size)) };
  if (r === 2 && f.at + f.size <= seed.data.length) {
    const cur = seed.data.readUIntLE(f.at, Math.min(f.size, 6));
    const delta = rng.pick([-1, 1, -8, 8, 0x1000, -0x1000, 2, 16]);
    b.writeUIntLE(Math.max(0, cur + delta) % 2 ** (8 * Math.min(f.size, 6)), 0, Math.min(f.size, 6));
    return { op: 'set', at: f.at, hex: hex(b) };
  }
  return { op: 'set', at: f.at, hex: hex(rng.bytes(f.size)) };
};

/** List links and object pointers: redirect to another pointer seen (cycles, cross-links), nearby, null, non-canonical. */
export const pointer: Mutator = (rng, seed) => {
  const ps = seed.pointers ?? [];
  if (ps.length === 0) return interestingValue(rng, seed);
  const at = rng.pick(ps);
  const cur = seed.data.readBigUInt64LE(at);
  const other = seed.data.readBigUInt64LE(rng.pick(ps));
  const b = Buffer.alloc(8);
  const v = rng.weighted<bigint>([
    [4, other],
    [2, cur + BigInt(rng.pick([-0x10, -8, 8, 0x10, 0x1000, -0x1000, 0x200000]))],
    [1, 0n],
    [1, cur & 0x0000ffffffffffffn],
    [1, cur ^ (1n << BigInt(rng.range(12, 47)))],
    [1, rng.pick(U64)],
  ]);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return { op: 'set', at, hex: hex(b) };
};

/** PTEs: present/transition/prototype bits, large-page bit, frames out of range or pointing back at tables. */
export const pte: Mutator = (rng, seed) => {
  const ps = seed.ptes ?? [];
  if (ps.length === 0) return interestingValue(rng, seed);
  const at = rng.pick(ps);
  const cur = seed.data.readBigUInt64LE(at);
  const other = seed.data.readBigUInt64LE(rng.pick(ps));
  const FRAME = 0x000ffffffffff000n;
  const v = rng.weighted<bigint>([
    [2, cur ^ 1n], // present off/on
    [2, (cur & ~1n) | 0x800n], // transition
    [1, (cur & ~1n) | 0x400n], // prototype
    [2, cur ^ 0x80n], // large page
    [2, (cur & ~FRAME) | (other & FRAME)], // alias another table's frame (cycles in the tree)
    [2, (cur & ~FRAME) | (BigInt(rng.pick([0x1000, 0xfffff, 0xffffffff, 0xfffffffff])) << 12n)], // frame far out
    [1, 0n],
    [1, 0xffffffffffffffffn],
  ]);
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return { op: 'set', at, hex: hex(b) };
};

const JSON_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 31,
  2 ** 53,
  -(2 ** 53),
  1e308,
  '',
  'x',
  '0x10',
  '__proto__',
  [],
  [1, 2],
  {},
  { kind: 'struct', name: '_EPROCESS' },
  { kind: 'array', count: 2 ** 31, subtype: { kind: 'base', name: 'unsigned char' } },
  { kind: 'pointer', subtype: { kind: 'struct', name: '_EPROCESS' } },
  { kind: 'bitfield', bit_position: 70, bit_length: 200, type: { kind: 'base', name: 'unsigned long' } },
  { kind: 'struct', name: '__missing__' },
  { kind: 'enum', name: '__missing__' },
  'A'.repeat(1000),
  undefined, // delete the key
];

/** JSON seeds: replace the value at a known path with a value of another type or an extreme. */
export const jsonValue: Mutator = (rng, seed) => {
  const paths = seed.jsonPaths ?? [];
  if (paths.length === 0) return randomBytes(rng, seed);
  const path = [...rng.pick(paths)];
  let value = rng.pick(JSON_VALUES);
  // Self- and cross-references between types make cycles and deep nesting.
  if (rng.chance(0.15)) {
    const typeName = path[0] === 'user_types' ? String(path[1]) : '_EPROCESS';
    value = { kind: 'struct', name: typeName };
  }
  return { op: 'json', path, value };
};

/** A mutator set: [weight, mutator]. */
export type MutatorSet = ReadonlyArray<readonly [number, Mutator]>;

export const BINARY_MUTATORS: MutatorSet = [
  [3, flipBit],
  [3, interestingValue],
  [1, randomBytes],
  [2, chunk],
  [4, headerField],
];

export const DUMP_MUTATORS: MutatorSet = [...BINARY_MUTATORS, [3, pointer], [3, pte]];

export const JSON_MUTATORS: MutatorSet = [
  [8, jsonValue],
  [1, flipBit],
  [1, chunk],
];

/** Draws 1..max edits (mostly few: one bad field at a time finds the most distinct paths). */
export function mutate(rng: Rng, seed: Seed, set: MutatorSet, max = 6): Op[] {
  const n = rng.chance(0.5) ? 1 : rng.range(2, max);
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) ops.push(rng.weighted(set)(rng, seed));
  return ops;
}
