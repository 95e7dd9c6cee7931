// Kernel objects hanging off a process (threads, APC queues, handle tables, tokens, VAD trees,
// loaded modules, extended flags) laid out with a real KernelLayout over a FakeMachine, for the
// unit tests of the src/ntos walks. Objects get real OBJECT_HEADERs (TypeIndex encoded with the
// fixture's cookie) and a real ObTypeIndexTable at the layout's symbol RVAs.
import type { KernelLayout, LayoutFieldKey } from '../../src/ntos/layout.ts';
import { encodeTypeIndex, OBJECT_HEADER_INFO } from '../../src/ntos/object-header.ts';
import { COOKIE, PROCESS_TYPE_INDEX, ProcFixture, type BuiltProcess, type FixtureProcess } from './proc-fixture.ts';

export const KBASE = 0xfffff80000000000n;
export const TYPE_INDEX: Readonly<Record<string, number>> = { Process: PROCESS_TYPE_INDEX, Thread: 8, Event: 16, File: 37, Key: 44, Section: 45 };
const HEADER_BYTES = 0x30;

export interface FixtureThread {
  tid: number;
  start?: bigint;
  win32Start?: bigint;
  state?: number;
  create?: bigint;
  exit?: bigint;
}

export interface FixtureVad {
  start: bigint;
  end: bigint;
  protection: number;
  private: boolean;
  commit?: number;
  file?: string;
}

export class WalkFixture extends ProcFixture {
  constructor(layout: KernelLayout) {
    super(layout);
    const s = layout.symbols;
    if (s.ObHeaderCookie !== undefined) this.m.writeVirt(this.m.kernelDtb, KBASE + BigInt(s.ObHeaderCookie), Buffer.from([COOKIE]));
    if (s.ObTypeIndexTable !== undefined) {
      const table = Buffer.alloc(256 * 8);
      table.writeBigUInt64LE(1n, 8);
      for (const [name, idx] of Object.entries(TYPE_INDEX)) {
        const ot = this.kalloc(0x100);
        this.writeUnicodeAt(ot + BigInt(layout.fields['OBJECT_TYPE.Name']!.offset), name);
        table.writeBigUInt64LE(ot, idx * 8);
      }
      this.m.writeVirt(this.m.kernelDtb, KBASE + BigInt(s.ObTypeIndexTable), table);
    }
  }
  get L(): KernelLayout {
    return this.layout;
  }
  off(key: LayoutFieldKey): bigint {
    return BigInt(this.layout.fields[key]!.offset);
  }
  writeU64(va: bigint, v: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v & 0xffffffffffffffffn);
    this.m.writeVirt(this.m.kernelDtb, va, b);
  }
  /** A UNICODE_STRING at `at` whose buffer is allocated elsewhere. */
  writeUnicodeAt(at: bigint, text: string): void {
    const data = Buffer.from(text, 'utf16le');
    const buf = this.kalloc(Math.max(data.length, 2));
    this.m.writeVirt(this.m.kernelDtb, buf, data);
    const hdr = Buffer.alloc(16);
    hdr.writeUInt16LE(data.length, 0);
    hdr.writeUInt16LE(data.length, 2);
    hdr.writeBigUInt64LE(buf, 8);
    this.m.writeVirt(this.m.kernelDtb, at, hdr);
  }
  /** A process, its thread list head and handle-less state initialised as the kernel does. */
  addProcess(p: FixtureProcess): BuiltProcess {
    const b = this.add(p);
    const head = b.va + this.off('EPROCESS.ThreadListHead');
    this.setLinks(head, head, head);
    return b;
  }
  /** An object of `type` with `bodyBytes` of body, optionally named; returns the body address. */
  object(type: string, bodyBytes: number, name?: string): bigint {
    const nameInfo = name !== undefined ? this.layout.sizes._OBJECT_HEADER_NAME_INFO! : 0;
    const block = this.kalloc(nameInfo + HEADER_BYTES + bodyBytes);
    const header = block + BigInt(nameInfo);
    const oh = Buffer.alloc(HEADER_BYTES);
    oh.writeBigInt64LE(3n, 0);
    oh.writeBigInt64LE(1n, 8);
    oh[this.layout.fields['OBJECT_HEADER.TypeIndex']!.offset] = encodeTypeIndex(TYPE_INDEX[type], COOKIE, header);
    oh[this.layout.fields['OBJECT_HEADER.InfoMask']!.offset] = name !== undefined ? OBJECT_HEADER_INFO.NAME : 0;
    this.m.writeVirt(this.m.kernelDtb, header, oh);
    if (name !== undefined) this.writeUnicodeAt(block + this.off('OBJECT_HEADER_NAME_INFO.Name'), name);
    return header + BigInt(HEADER_BYTES);
  }
  /** Links `entries` (LIST_ENTRY addresses) into a ring with `head`. */
  ring(head: bigint, entries: readonly bigint[]): void {
    const all = [head, ...entries];
    for (let i = 0; i < all.length; i++) this.setLinks(all[i], all[(i + 1) % all.length], all[(i - 1 + all.length) % all.length]);
  }
  apcHead(ethread: bigint, mode: number): bigint {
    return ethread + this.off('KTHREAD.ApcState.ApcListHead') + BigInt(mode * 16);
  }
  /** An ETHREAD owned by `proc` (not yet linked: see linkThreads). */
  thread(proc: BuiltProcess, t: FixtureThread): bigint {
    const e = this.object('Thread', this.layout.sizes._ETHREAD!);
    this.w(e, 'ETHREAD.Cid.UniqueThread', t.tid);
    this.w(e, 'ETHREAD.Cid.UniqueProcess', proc.pid);
    this.w(e, 'KTHREAD.Process', proc.va);
    this.w(e, 'ETHREAD.StartAddress', t.start ?? 0n);
    this.w(e, 'ETHREAD.Win32StartAddress', t.win32Start ?? 0n);
    this.w(e, 'KTHREAD.State', t.state ?? 5);
    this.w(e, 'ETHREAD.CreateTime', t.create ?? 0n);
    this.w(e, 'ETHREAD.ExitTime', t.exit ?? 0n);
    for (const mode of [0, 1]) this.setLinks(this.apcHead(e, mode), this.apcHead(e, mode), this.apcHead(e, mode));
    return e;
  }
  linkThreads(proc: BuiltProcess, threads: readonly bigint[]): void {
    this.ring(
      proc.va + this.off('EPROCESS.ThreadListHead'),
      threads.map((e) => e + this.off('ETHREAD.ThreadListEntry')),
    );
  }
  /** A KAPC (not linked). */
  apc(mode: number, kernelRoutine: bigint, normalRoutine: bigint): bigint {
    const k = this.kalloc(this.layout.sizes._KAPC!);
    this.w(k, 'KAPC.KernelRoutine', kernelRoutine);
    this.w(k, 'KAPC.NormalRoutine', normalRoutine);
    this.w(k, 'KAPC.ApcMode', mode);
    return k;
  }
  queueApcs(ethread: bigint, mode: number, kapcs: readonly bigint[]): void {
    this.ring(
      this.apcHead(ethread, mode),
      kapcs.map((k) => k + this.off('KAPC.ApcListEntry')),
    );
  }
  /** One HANDLE_TABLE_ENTRY's 16 bytes for an object body with `access`. */
  entryBytes(body: bigint, access: number): Buffer {
    const e = Buffer.alloc(16);
    const header = body - this.off('OBJECT_HEADER.Body');
    const f = this.layout.fields;
    const ptr = f['HANDLE_TABLE_ENTRY.ObjectPointerBits'];
    if (ptr) {
      const bits = (header & 0xffffffffffffn) >> 4n;
      e.writeBigUInt64LE((bits << BigInt(ptr.bitPosition!)) | 1n, ptr.offset);
      e.writeUInt32LE(access, f['HANDLE_TABLE_ENTRY.GrantedAccessBits']!.offset);
    } else {
      e.writeBigUInt64LE(header, f['HANDLE_TABLE_ENTRY.Object']!.offset);
      e.writeUInt32LE(access, f['HANDLE_TABLE_ENTRY.GrantedAccess']!.offset);
    }
    return e;
  }
  /**
   * A handle table for `proc` at `level` holding `handles` (handle value → body, access). Returns the
   * HANDLE_TABLE address and the level-0 pages (index order).
   */
  handleTable(proc: BuiltProcess, level: number, handles: ReadonlyMap<number, { body: bigint; access: number }>, nextHandle?: number): { table: bigint; pages: bigint[]; top: bigint } {
    const maxIndex = Math.max(0, ...[...handles.keys()].map((h) => h / 4));
    const pagesNeeded = Math.floor(maxIndex / 256) + 1;
    const pages: bigint[] = [];
    for (let i = 0; i < pagesNeeded; i++) pages.push(this.kalloc(4096));
    for (const [h, { body, access }] of handles) {
      const idx = h / 4;
      this.m.writeVirt(this.m.kernelDtb, pages[Math.floor(idx / 256)] + BigInt((idx % 256) * 16), this.entryBytes(body, access));
    }
    let top: bigint;
    if (level === 0) top = pages[0];
    else if (level === 1) {
      top = this.kalloc(4096);
      pages.forEach((p, i) => this.writeU64(top + BigInt(i * 8), p));
    } else {
      top = this.kalloc(4096);
      for (let j = 0; j * 512 < pages.length; j++) {
        const mid = this.kalloc(4096);
        pages.slice(j * 512, (j + 1) * 512).forEach((p, i) => this.writeU64(mid + BigInt(i * 8), p));
        this.writeU64(top + BigInt(j * 8), mid);
      }
    }
    const table = this.kalloc(this.layout.sizes._OBJECT_HEADER ? 0x80 : 0x80);
    this.w(table, 'HANDLE_TABLE.TableCode', top | BigInt(level));
    this.w(table, 'HANDLE_TABLE.NextHandleNeedingPool', nextHandle ?? pagesNeeded * 256 * 4);
    this.w(proc.va, 'EPROCESS.ObjectTable', table);
    return { table, pages, top };
  }
  /** A SID in kernel memory. */
  sid(text: string): bigint {
    const parts = text.split('-').slice(1).map(Number);
    const subs = parts.slice(2);
    const b = Buffer.alloc(8 + 4 * subs.length);
    b[0] = parts[0];
    b[1] = subs.length;
    b.writeUIntBE(parts[1], 2, 6);
    subs.forEach((s, i) => b.writeUInt32LE(s, 8 + 4 * i));
    const va = this.kalloc(b.length);
    this.m.writeVirt(this.m.kernelDtb, va, b);
    return va;
  }
  /** A TOKEN for `proc`: user + groups (SID, attributes), integrity group index, privilege masks, package SID. */
  token(proc: BuiltProcess, t: { groups: readonly [string, number][]; integrityIndex: number; present: bigint; enabled: bigint; byDefault: bigint; package?: string; refCnt?: number }): bigint {
    const tok = this.kalloc(this.layout.sizes._TOKEN!);
    const saSize = this.layout.sizes._SID_AND_ATTRIBUTES!;
    const arr = this.kalloc(t.groups.length * saSize);
    t.groups.forEach(([sid, attr], i) => {
      const e = arr + BigInt(i * saSize);
      this.w(e, 'SID_AND_ATTRIBUTES.Sid', this.sid(sid));
      this.w(e, 'SID_AND_ATTRIBUTES.Attributes', attr);
    });
    this.w(tok, 'TOKEN.UserAndGroups', arr);
    this.w(tok, 'TOKEN.UserAndGroupCount', t.groups.length);
    this.w(tok, 'TOKEN.IntegrityLevelIndex', t.integrityIndex);
    this.w(tok, 'TOKEN.Privileges.Present', t.present);
    this.w(tok, 'TOKEN.Privileges.Enabled', t.enabled);
    this.w(tok, 'TOKEN.Privileges.EnabledByDefault', t.byDefault);
    this.w(tok, 'TOKEN.Package', t.package ? this.sid(t.package) : 0n);
    this.w(proc.va, 'EPROCESS.Token', tok | BigInt(t.refCnt ?? 7));
    return tok;
  }
  /** A VAD tree (balanced by address) for `proc`; returns the MMVAD addresses in address order. */
  vads(proc: BuiltProcess, vads: readonly FixtureVad[]): bigint[] {
    const sorted = [...vads].sort((a, b) => (a.start < b.start ? -1 : 1));
    const nodes = sorted.map((v) => {
      const n = this.kalloc(this.layout.sizes._MMVAD!);
      const sv = v.start >> 12n;
      const ev = v.end >> 12n;
      this.w(n, 'MMVAD_SHORT.StartingVpn', sv & 0xffffffffn);
      this.w(n, 'MMVAD_SHORT.EndingVpn', ev & 0xffffffffn);
      this.w(n, 'MMVAD_SHORT.StartingVpnHigh', sv >> 32n);
      this.w(n, 'MMVAD_SHORT.EndingVpnHigh', ev >> 32n);
      this.w(n, 'MMVAD_SHORT.Protection', v.protection);
      this.w(n, 'MMVAD_SHORT.PrivateMemory', v.private ? 1 : 0);
      this.w(n, 'MMVAD_SHORT.CommitCharge', v.commit ?? 0);
      if (v.file) {
        const fo = this.object('File', this.layout.sizes._FILE_OBJECT!);
        this.writeUnicodeAt(fo + this.off('FILE_OBJECT.FileName'), v.file);
        const ca = this.kalloc(0x80);
        this.w(ca, 'CONTROL_AREA.FilePointer', fo | 0xfn);
        const sub = this.kalloc(0x40);
        this.w(sub, 'SUBSECTION.ControlArea', ca);
        this.w(n, 'MMVAD.Subsection', sub);
      }
      return n;
    });
    const build = (lo: number, hi: number): bigint => {
      if (lo > hi) return 0n;
      const mid = (lo + hi) >> 1;
      const n = nodes[mid];
      const node = n + this.off('MMVAD_SHORT.VadNode');
      this.writeU64(node + this.off('RTL_BALANCED_NODE.Left'), build(lo, mid - 1));
      this.writeU64(node + this.off('RTL_BALANCED_NODE.Right'), build(mid + 1, hi));
      return node;
    };
    this.w(proc.va, 'EPROCESS.VadRoot', build(0, nodes.length - 1));
    return nodes;
  }
  /** A loaded-module list at a fresh head; returns the head. */
  modules(mods: readonly { base: bigint; size: number; name: string; path: string }[]): bigint {
    const head = this.kalloc(16);
    const entries = mods.map((m) => {
      const e = this.kalloc(this.layout.sizes._KLDR_DATA_TABLE_ENTRY!);
      this.w(e, 'KLDR_DATA_TABLE_ENTRY.DllBase', m.base);
      this.w(e, 'KLDR_DATA_TABLE_ENTRY.SizeOfImage', m.size);
      this.writeUnicodeAt(e + this.off('KLDR_DATA_TABLE_ENTRY.BaseDllName'), m.name);
      this.writeUnicodeAt(e + this.off('KLDR_DATA_TABLE_ENTRY.FullDllName'), m.path);
      return e + this.off('KLDR_DATA_TABLE_ENTRY.InLoadOrderLinks');
    });
    this.ring(head, entries);
    return head;
  }
}

/** The seven reference kernels (../shared/data/isf) by build, as the built-in table has them. */
export const REFERENCE_PDBS: readonly [string, string][] = [
  ['14393', 'DBBC830E3E9A48FDA25A2144C146930E'],
  ['17763', '1D4090613BF97F9B9529992E20E93897'],
  ['18362', 'DCA4AD4BEEB4746D48F84C0125019E43'],
  ['19041.804', '5278AFF86C341677D7D7835C85B7B844'],
  ['19041.3570', '606FF669409B00F7FC8C61A9C1670129'],
  ['20348', 'B3ED6FA26A1FD6DF6A34DF3B125CAFE8'],
  ['22000', '0CE4A95C0CD782A7596B034D8648E585'],
];
