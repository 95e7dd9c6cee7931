// Hand-made kernel process objects over a FakeMachine, laid out with a real KernelLayout: pool
// blocks (POOL_HEADER 'Proc' + OBJECT_HEADER + EPROCESS), the ActiveProcessLinks list and a few
// pointers out of the object (session, image path). Small enough to reason about in one test.
import type { KernelLayout, LayoutFieldKey } from '../../src/ntos/layout.ts';
import { optionalHeaderBytes } from '../../src/ntos/pool-scan.ts';
import { FakeMachine } from './fake-machine.ts';

export const POOL_BASE = 0xffffc60000000000n;
export const HEAD_VA = 0xfffff80000c1e000n;
export const COOKIE = 0x5a;
export const PROCESS_TYPE_INDEX = 7;
const FT_EPOCH = 116444736000000000n;
export const ft = (iso: string) => BigInt(Date.parse(iso)) * 10_000n + FT_EPOCH;

export interface FixtureProcess {
  pid: number;
  ppid: number;
  name: string | Buffer;
  create?: string;
  exit?: string;
  protection?: number;
  secure?: bigint;
  trustletId?: number;
  session?: number | null;
  path?: string;
  unlinked?: boolean;
  /** Extra InfoMask bits (optional headers before the OBJECT_HEADER). */
  infoMask?: number;
}

export interface BuiltProcess extends FixtureProcess {
  va: bigint;
  pa: number;
  dtb: number;
  headerVa: bigint;
}

export class ProcFixture {
  readonly m = new FakeMachine();
  readonly procs: BuiltProcess[] = [];
  private nextVa = POOL_BASE;
  readonly links: bigint;
  constructor(readonly layout: KernelLayout) {
    this.links = BigInt(layout.fields['EPROCESS.ActiveProcessLinks']!.offset);
    // List head in its own kernel page.
    this.m.writeVirt(this.m.kernelDtb, HEAD_VA, Buffer.alloc(16));
  }
  get vm() {
    return this.m.vm();
  }
  /** Kernel VA allocator for small blocks (16-byte aligned, fresh pages). */
  kalloc(bytes: number): bigint {
    const va = this.nextVa;
    this.nextVa += BigInt((bytes + 0xfff) & ~0xfff);
    this.m.writeVirt(this.m.kernelDtb, va, Buffer.alloc(bytes));
    return va;
  }
  w(va: bigint, key: LayoutFieldKey, value: bigint | number, base = 0n): void {
    const p = this.layout.fields[key];
    if (!p) return;
    const size = p.size >= 8 ? 8 : p.size >= 4 ? 4 : p.size >= 2 ? 2 : 1;
    const b = Buffer.alloc(size);
    let v = BigInt(value);
    if (p.bitPosition !== undefined) {
      const cur = this.vm.read(va + base + BigInt(p.offset), size)!;
      let old = size === 8 ? cur.readBigUInt64LE(0) : size === 4 ? BigInt(cur.readUInt32LE(0)) : size === 2 ? BigInt(cur.readUInt16LE(0)) : BigInt(cur[0]);
      const mask = ((1n << BigInt(p.bitLength!)) - 1n) << BigInt(p.bitPosition);
      old = (old & ~mask) | ((v << BigInt(p.bitPosition)) & mask);
      v = old;
    }
    if (size === 8) b.writeBigUInt64LE(v & 0xffffffffffffffffn);
    else if (size === 4) b.writeUInt32LE(Number(v & 0xffffffffn));
    else if (size === 2) b.writeUInt16LE(Number(v & 0xffffn));
    else b[0] = Number(v & 0xffn);
    this.m.writeVirt(this.m.kernelDtb, va + base + BigInt(p.offset), b);
  }
  unicodeString(text: string): bigint {
    const data = Buffer.from(text, 'utf16le');
    const us = this.kalloc(16 + data.length);
    const hdr = Buffer.alloc(16);
    hdr.writeUInt16LE(data.length, 0);
    hdr.writeUInt16LE(data.length, 2);
    hdr.writeBigUInt64LE(us + 16n, 8);
    this.m.writeVirt(this.m.kernelDtb, us, Buffer.concat([hdr, data]));
    return us;
  }

  add(p: FixtureProcess): BuiltProcess {
    const size = this.layout.sizes._EPROCESS!;
    const infoMask = p.infoMask ?? 0x08; // QUOTA_INFO (0x20 bytes), as Windows does for processes
    const opt = (optionalHeaderBytes(infoMask) + 15) & ~15; // PADDING_INFO pads the header to 16 bytes
    const blockBytes = (16 + opt + 0x30 + size + 15) & ~15;
    const pool = this.kalloc(blockBytes);
    const hdr = Buffer.alloc(16);
    hdr.writeUInt16LE(blockBytes / 16, 2);
    hdr.write('Proc', 4, 'latin1');
    this.m.writeVirt(this.m.kernelDtb, pool, hdr);
    const headerVa = pool + 16n + BigInt(opt);
    const oh = Buffer.alloc(0x30);
    oh.writeBigInt64LE(5n, 0);
    oh.writeBigInt64LE(2n, 8);
    oh[0x18] = PROCESS_TYPE_INDEX ^ COOKIE ^ Number((headerVa >> 8n) & 0xffn);
    oh[0x1a] = infoMask;
    this.m.writeVirt(this.m.kernelDtb, headerVa, oh);
    const va = headerVa + 0x30n;
    const dtb = this.m.newSpace();
    this.w(va, 'EPROCESS.UniqueProcessId', p.pid);
    this.w(va, 'EPROCESS.InheritedFromUniqueProcessId', p.ppid);
    const name = typeof p.name === 'string' ? Buffer.from(p.name, 'latin1') : p.name;
    const nameP = this.layout.fields['EPROCESS.ImageFileName']!;
    this.m.writeVirt(this.m.kernelDtb, va + BigInt(nameP.offset), name.subarray(0, 15));
    this.w(va, 'KPROCESS.DirectoryTableBase', dtb);
    this.w(va, 'EPROCESS.CreateTime', ft(p.create ?? '2024-05-14T07:02:12.000Z'));
    if (p.exit) {
      this.w(va, 'EPROCESS.ExitTime', ft(p.exit));
      this.w(va, 'EPROCESS.ProcessExiting', 1);
    }
    this.w(va, 'EPROCESS.Protection', p.protection ?? 0);
    if (p.secure !== undefined) {
      if (this.layout.fields['KPROCESS.SecureState']) this.w(va, 'KPROCESS.SecureState', p.secure);
      else this.w(va, 'KPROCESS.SecurePid', p.secure);
    }
    if (p.trustletId !== undefined) this.w(va, 'EPROCESS.TrustletIdentity', p.trustletId);
    if (p.session !== undefined && p.session !== null) {
      const s = this.kalloc(0x100);
      this.w(s, 'MM_SESSION_SPACE.SessionId', p.session);
      this.w(va, 'EPROCESS.Session', s);
    }
    if (p.path) {
      const oni = this.unicodeString(p.path);
      this.w(va, 'EPROCESS.SeAuditProcessCreationInfo', oni);
    }
    const built: BuiltProcess = { ...p, va, pa: 0, dtb, headerVa };
    const t = this.vm.translate(va);
    built.pa = t.ok ? t.pa : -1;
    this.procs.push(built);
    return built;
  }

  /** Links every process not marked unlinked into the list at HEAD_VA; unlinked ones point at themselves. */
  link(): void {
    const listed = this.procs.filter((p) => !p.unlinked);
    const entries = [HEAD_VA, ...listed.map((p) => p.va + this.links)];
    for (let i = 0; i < entries.length; i++) {
      const next = entries[(i + 1) % entries.length];
      const prev = entries[(i - 1 + entries.length) % entries.length];
      this.setLinks(entries[i], next, prev);
    }
    for (const p of this.procs.filter((x) => x.unlinked)) this.setLinks(p.va + this.links, p.va + this.links, p.va + this.links);
  }
  setLinks(entry: bigint, flink: bigint, blink: bigint): void {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(flink, 0);
    b.writeBigUInt64LE(blink, 8);
    this.m.writeVirt(this.m.kernelDtb, entry, b);
  }
  /** Removes the physical page holding kernel VA `va` from the dump. */
  dropPageOf(va: bigint): number {
    const t = this.vm.translate(va);
    if (!t.ok) throw new Error('not mapped');
    const pfn = Math.floor(t.pa / 4096);
    this.m.phys.pages.delete(pfn);
    return pfn;
  }
}
