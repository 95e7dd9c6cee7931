// A bounded, cycle-safe walk of a doubly-linked LIST_ENTRY list from its head (thread lists, APC
// queues, the loaded-module list). Yields the address of each entry's LIST_ENTRY; the caller
// subtracts the field offset to reach the containing structure. A non-canonical or unreadable
// link, a loop that never returns to the head, or the cap ends the walk with an issue.
import type { VirtualMemory } from '../dump/types.ts';
import { hex } from '../dump/numbers.ts';
import { isKernelPointer } from './process.ts';
import type { IssueLog } from './walk-result.ts';

export interface ListLinks {
  /** LIST_ENTRY addresses of the entries, in Flink order (head excluded). */
  readonly links: bigint[];
  /** True when the walk returned to the head. */
  readonly complete: boolean;
  readonly capHit: boolean;
}

/** Bytes of a LIST_ENTRY (Flink, Blink). */
export const LIST_ENTRY_SIZE = 16;
const BLINK_OFFSET = 8n;

/**
 * Follows Flinks from `head` until the head comes back. `what` names the list in issue messages
 * ("thread list of the process at 0x…"). At most `cap` entries are returned.
 */
export function walkListLinks(vm: VirtualMemory, head: bigint, cap: number, what: string, log: IssueLog): ListLinks {
  const links: bigint[] = [];
  if (!isKernelPointer(head)) {
    log.add('non-canonical', `the ${what} head ${hex(head)} is not a kernel address`, head);
    return { links, complete: false, capHit: false };
  }
  const first = vm.readU64(head);
  if (first === undefined) {
    log.add('unreadable', `the ${what} head at ${hex(head)} is not in the dump`, head);
    return { links, complete: false, capHit: false };
  }
  const seen = new Set<bigint>();
  const entry = Buffer.allocUnsafe(LIST_ENTRY_SIZE); // each LIST_ENTRY is read into this one buffer
  let prev = head;
  let cur = first;
  for (;;) {
    if (cur === head) return { links, complete: true, capHit: false };
    // An empty list whose head was never initialised (zero) is damage, not an empty list.
    if (!isKernelPointer(cur)) {
      log.add('non-canonical', `a link of the ${what} (after ${hex(prev)}) is ${hex(cur)}, not a kernel address`, prev);
      return { links, complete: false, capHit: false };
    }
    if (seen.has(cur)) {
      log.add('cycle', `the ${what} loops back to ${hex(cur)} without returning to its head`, cur);
      return { links, complete: false, capHit: false };
    }
    if (links.length >= cap) {
      log.add('cap', `the ${what} walk stopped at its cap of ${cap} entries`, cur);
      return { links, complete: false, capHit: true };
    }
    if (!vm.readInto(cur, LIST_ENTRY_SIZE, entry, 0)) {
      log.add('unreadable', `the ${what} entry at ${hex(cur)} is not in the dump`, cur);
      return { links, complete: false, capHit: false };
    }
    const blink = entry.readBigUInt64LE(Number(BLINK_OFFSET));
    if (blink !== prev) log.add('blink-mismatch', `the ${what} entry at ${hex(cur)} has Blink ${hex(blink)}, not ${hex(prev)}`, cur);
    seen.add(cur);
    links.push(cur);
    prev = cur;
    cur = entry.readBigUInt64LE(0);
  }
}
