// The shape every walk of a structure hanging off a process returns: the items read, whether the
// walk saw all of them (`partial` false), the cap that bounded it, and why it stopped early. A walk
// never throws on evidence: damage ends it with an issue and `partial: true`.
import { hex } from '../dump/numbers.ts';

export type WalkIssueKind =
  /** The layout lacks a field the walk needs (an older build, an inferred layout). */
  | 'layout-missing'
  /** A pointer is not a canonical kernel address (or not 8-byte aligned). */
  | 'non-canonical'
  /** Memory the walk needs is not in the dump (absent page, truncated evidence, paged out). */
  | 'unreadable'
  /** A list or tree came back to something it had already visited. */
  | 'cycle'
  /** A count or cap bounded the walk. */
  | 'cap'
  /** A value is impossible (a length, count, level, SID revision …). */
  | 'implausible'
  /** A doubly-linked list whose back link disagrees (kept going; the entry is still reported). */
  | 'blink-mismatch';

export interface WalkIssue {
  readonly kind: WalkIssueKind;
  readonly message: string;
  /** The address concerned, "0x…", or null. */
  readonly address: string | null;
}

export interface Walk<T> {
  readonly items: T[];
  /** True when something may be missing: an issue stopped or skipped part of the walk. */
  readonly partial: boolean;
  /** True when `cap` stopped the walk. */
  readonly capHit: boolean;
  readonly cap: number;
  readonly issues: WalkIssue[];
}

/** Most issues a walk keeps (a damaged table can produce one per entry); the count of the rest is kept. */
export const MAX_ISSUES_PER_WALK = 64;

/** Collects issues with a bound. */
export class IssueLog {
  readonly issues: WalkIssue[] = [];
  dropped = 0;
  add(kind: WalkIssueKind, message: string, address: bigint | null = null): void {
    if (this.issues.length >= MAX_ISSUES_PER_WALK) {
      this.dropped++;
      return;
    }
    this.issues.push({ kind, message, address: address === null ? null : hex(address) });
  }
  /** The issues, with one closing line for those dropped. */
  list(): WalkIssue[] {
    if (this.dropped === 0) return this.issues;
    return [...this.issues, { kind: 'cap', message: `${this.dropped} more issues not kept (at most ${MAX_ISSUES_PER_WALK} per walk)`, address: null }];
  }
  get empty(): boolean {
    return this.issues.length === 0;
  }
}

/** A finished walk. `partial` is true when any issue was logged. */
export function walkResult<T>(items: T[], log: IssueLog, cap: number, capHit: boolean): Walk<T> {
  return { items, partial: !log.empty || capHit, capHit, cap, issues: log.list() };
}

/** The empty `unreadable` list, shared (200,000 items need not hold 200,000 empty arrays). */
export const NOTHING_UNREADABLE: readonly string[] = Object.freeze([]);

/** `list`, or the shared empty list. */
export function unreadableList(list: readonly string[]): readonly string[] {
  return list.length === 0 ? NOTHING_UNREADABLE : list;
}
