// Step 8: the partial mark — ranges the evidence lacks (for a raw image, page tables pointing past
// its end), caps hit, and every reason the earlier steps gave.
import type { MissingRange, PhysicalMemory, VirtualMemory } from '../../dump/types.ts';
import { PAGE_SIZE, type DumpFormat } from '../../dump/types.ts';
import type { ListWalk } from '../../ntos/process-list.ts';
import { hex } from '../../dump/numbers.ts';
import type { PartialMark } from '../types.ts';
import type { CapHit } from './notes.ts';

export interface PartialInput {
  readonly format: DumpFormat;
  readonly partialByNature: boolean;
  readonly pm: PhysicalMemory;
  readonly vm: VirtualMemory;
  readonly list: ListWalk | undefined;
  /** Highest absent physical page the page-table walks met (-1: none). */
  readonly maxAbsentPfn: number;
  readonly capsHit: readonly CapHit[];
  /** Reasons gathered so far, in step order. */
  readonly reasons: readonly string[];
}

/** The highest absent page behind an unreadable list link, or -1. */
function listAbsentPfn(vm: VirtualMemory, list: ListWalk | undefined): number {
  let max = -1;
  for (const i of list?.issues ?? []) {
    if (i.kind !== 'link-unreadable') continue;
    const tr = vm.translate(i.address);
    if (!tr.ok && tr.pa !== undefined) max = Math.max(max, Math.floor(tr.pa / PAGE_SIZE));
  }
  return max;
}

export function partialMark(inp: PartialInput): PartialMark {
  const reasons = [...inp.reasons];
  const { pm } = inp;
  const missingRanges = pm.missing.map((r: MissingRange) => ({ start: hex(r.basePage * PAGE_SIZE), pages: r.pageCount, reason: r.reason }));
  const maxAbsentPfn = Math.max(inp.maxAbsentPfn, listAbsentPfn(inp.vm, inp.list));
  // A raw image has no header to say how long it should be: page tables pointing past its end are the evidence.
  if (inp.format === 'raw' && missingRanges.length === 0 && maxAbsentPfn >= pm.pageLimit) {
    const pages = maxAbsentPfn + 1 - pm.pageLimit;
    missingRanges.push({ start: hex(pm.pageLimit * PAGE_SIZE), pages, reason: 'referenced by the page tables beyond the end of the raw image (at least this much)' });
    reasons.push(`The raw image looks truncated: the kernel's page tables reference physical pages up to ${hex((maxAbsentPfn + 1) * PAGE_SIZE)}, past its end at ${hex(pm.pageLimit * PAGE_SIZE)}.`);
  }
  if (missingRanges.length && !reasons.some((r) => /missing|truncat/i.test(r))) reasons.push(`${missingRanges.reduce((n, r) => n + r.pages, 0)} pages the format promises are missing from the file.`);
  for (const c of inp.capsHit) if (!reasons.some((r) => r.includes(c.cap))) reasons.push(`The analysis cap ${c.cap} (${c.limit}) was hit: results past it are missing.`);
  const partial = inp.partialByNature || missingRanges.length > 0 || inp.capsHit.length > 0 || reasons.length > 0;
  return { partial, reasons, missingRanges };
}
