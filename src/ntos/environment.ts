// A process's environment block (UTF-16 "NAME=VALUE\0…\0\0" in its own address space), read page by
// page up to a named bound and parsed once. Only a short, documented list of variables is kept (the
// block can hold secrets: tokens, passwords in variables); the rest is counted, never copied out.
import type { VirtualMemory } from '../dump/types.ts';
import { PAGE_SIZE } from '../dump/types.ts';
import { decodeUtf16 } from './strings.ts';

/** Most bytes of an environment block read (Windows caps a block near 32 K characters per variable; real blocks are a few KiB). */
export const MAX_ENVIRONMENT_BYTES = 128 * 1024;
/** Most characters kept of one variable's value. */
export const MAX_ENVIRONMENT_VALUE = 1024;

/**
 * The variables reports keep (docs/analyze.md "Environment"): who and where the process ran as.
 * Names match case-insensitively; they are reported with the spelling here.
 */
export const KEPT_ENVIRONMENT_VARIABLES = [
  'COMPUTERNAME',
  'USERNAME',
  'USERDOMAIN',
  'USERDNSDOMAIN',
  'LOGONSERVER',
  'USERPROFILE',
  'SESSIONNAME',
  'PROCESSOR_ARCHITECTURE',
  'SystemRoot',
  'TEMP',
] as const;
const KEPT = new Map(KEPT_ENVIRONMENT_VARIABLES.map((n) => [n.toUpperCase(), n] as const));

export interface EnvironmentRead {
  /** The kept variables found (a subset of KEPT_ENVIRONMENT_VARIABLES). */
  readonly vars: Readonly<Record<string, string>>;
  /** How many variables the block held in the part read. */
  readonly count: number;
  /** True when the block's end (double NUL) was reached. */
  readonly complete: boolean;
  /** Why the block is incomplete (absent page, bound hit), when it is. */
  readonly reason?: string;
}

/** Reads and parses the environment block at `va`; `size` (EnvironmentSize) bounds it further when known. */
export function readEnvironment(vm: VirtualMemory, va: bigint, size: number | null = null): EnvironmentRead {
  const limit = Math.min(MAX_ENVIRONMENT_BYTES, size ?? MAX_ENVIRONMENT_BYTES) & ~1;
  const chunks: Buffer[] = [];
  let got = 0;
  let end = -1;
  let reason: string | undefined;
  while (got < limit) {
    const cur = va + BigInt(got);
    const n = Math.min(PAGE_SIZE - Number(cur & 0xfffn), limit - got);
    const b = vm.read(cur, n);
    if (!b) {
      reason = `the page at 0x${cur.toString(16)} is not in the dump`;
      break;
    }
    chunks.push(b);
    const all = chunks.length === 1 ? b : Buffer.concat(chunks);
    end = doubleNul(all, Math.max(0, got - 2));
    got += n;
    if (end >= 0) break;
  }
  if (end < 0 && !reason) reason = `no end within ${limit} bytes`;
  const block = Buffer.concat(chunks);
  const body = block.subarray(0, end >= 0 ? end : block.length & ~1);
  const vars: Record<string, string> = {};
  let count = 0;
  for (const entry of splitNul(body)) {
    if (entry.length === 0) continue;
    count++;
    const text = decodeUtf16(entry).text;
    // "=C:=C:\dir" entries are per-drive current directories, not variables.
    const eq = text.indexOf('=', 1);
    if (eq <= 0) continue;
    const name = KEPT.get(text.slice(0, eq).toUpperCase());
    if (name && !(name in vars)) vars[name] = text.slice(eq + 1, eq + 1 + MAX_ENVIRONMENT_VALUE);
  }
  return reason ? { vars, count, complete: false, reason } : { vars, count, complete: true };
}

const TWO_ZERO_BYTES = Buffer.alloc(2);
const FOUR_ZERO_BYTES = Buffer.alloc(4);

/** Offset of the first UTF-16 "\0\0" (two zero code units) at or after `from` (even), or -1. */
function doubleNul(b: Buffer, from: number): number {
  // Native search; a hit at an odd offset straddles two code units: search on from the next even one.
  for (let i = from & ~1; ; ) {
    const at = b.indexOf(FOUR_ZERO_BYTES, i);
    if (at < 0 || (at & 1) === 0) return at;
    i = at + 1;
  }
}

function* splitNul(b: Buffer): Generator<Buffer> {
  let start = 0;
  for (let i = 0; ; ) {
    const at = b.indexOf(TWO_ZERO_BYTES, i);
    if (at < 0) break;
    if (at & 1) {
      i = at + 1; // straddles two code units
      continue;
    }
    yield b.subarray(start, at);
    start = at + 2;
    i = at + 2;
  }
  if (start < b.length) yield b.subarray(start, b.length & ~1);
}
