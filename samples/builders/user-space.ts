// A process's user half: PEB, image header page, stack with a guard page, heap pages with the
// process parameters, a transition PTE, two page-file PTEs, and the VAD ranges that cover them.
// Secure processes' frames follow the scenario's secure-page mode (absent, zero, constant, readable, mixed).
import { IMAGE_FILE_MACHINE_AMD64, IMAGE_FILE_MACHINE_I386 } from '../../src/ntos/pe.ts';
import { MM_EXECUTE_WRITECOPY, MM_PROTECT_TO_VALUE, MM_READWRITE, pageProtectionName } from '../../src/ntos/page-protection.ts';
import type { SystemDlls } from './address-map.ts';
import { AddressSpace, PTE, writeVa, type ContentClass } from '../memory.ts';
import type { Rng } from '../rng.ts';
import { StructWriter, utf16 } from '../structs.ts';
import type { ScenarioProcess, SecurePages } from '../scenario.ts';
import type { KernelCtx } from './context.ts';
import { unicodeString } from './object.ts';
import { currentDirectoryOf, ENVIRONMENT_HEAP_PAGE, environmentOf, keptEnvironment, LOADER_HEAP_PAGE, modulesOf, writeEnvironment, writeLoaderData, type UserDetails } from './peb-details.ts';

/** One user-range leaf entry of a process, with what its frame holds. */
export interface UserPte {
  readonly va: bigint;
  readonly kind: 'present' | 'transition' | 'pagefile' | 'demand-zero';
  readonly pfn?: number;
  readonly content?: ContentClass;
}

/** A VAD (first and last virtual page number, inclusive), as the VAD tree holds it. */
export interface VadRange {
  startVpn: bigint;
  endVpn: bigint;
  /** u.VadFlags.PrivateMemory. */
  private: boolean;
  /** u.VadFlags.Protection: the MM protection index (MM_READWRITE …). */
  protection: number;
  /** Mapped file (FILE_OBJECT.FileName) behind Subsection → ControlArea → FilePointer; null for private memory. */
  file: string | null;
  /** u1.VadFlags1.CommitCharge (pages). */
  commit: number;
}

export interface UserSpace {
  readonly pebVa: bigint;
  readonly userPtes: UserPte[];
  readonly vads: VadRange[];
  /** The image's mapping (null without a PEB). */
  readonly image: { base: bigint; size: number } | null;
  /** Private regions the scenario asked for, in order. */
  readonly regions: { base: bigint; size: number }[];
  /** Issue 14: what the PEB side holds (null without a PEB). */
  readonly details: UserDetails | null;
}

/** The byte a `constant` secure page is filled with. */
export const CONSTANT_FILL = 0xff;
/** Filler seeds for user pages start here (apart from the kernel's page-number seeds). */
const FILLER_SEED_BASE = 0x4000000;
/** MMPTE_SOFTWARE protection (bits 5..9) of a guard page: PAGE_READWRITE | PAGE_GUARD (MM_GUARD_PAGE). */
const GUARD_PAGE_SOFTWARE_PTE = 0x104n << 5n;
/** MM_READWRITE in a transition / page-file PTE's protection bits. */
const MM_READWRITE_PTE = 4n << 5n;
const IMAGE_HIGH_BASE = 0x7ff600000000n;

/** What the user-space step carries from one process to the next. */
export class UserSpaceState {
  /** Secure pages handed out so far (the `mixed` mode cycles by it). */
  private contentCounter = 0;
  private vtl1Next: number;

  constructor(
    readonly k: KernelCtx,
    /** The user-space generator (forked from the main one after the sessions). */
    readonly urng: Rng,
  ) {
    this.vtl1Next = k.vtl1.base;
  }

  /** `n` frames for user pages, classified by the process's secure-page mode. */
  pages(n: number, mode: SecurePages | null): { pfn: number; content: ContentClass }[] {
    const out: { pfn: number; content: ContentClass }[] = [];
    for (let i = 0; i < n; i++) {
      let m: 'absent' | 'zero' | 'constant' | 'readable' = 'readable';
      if (mode && mode !== 'mixed') m = mode;
      if (mode === 'mixed') m = (['absent', 'zero', 'constant', 'readable'] as const)[(this.contentCounter + i) % 4];
      if (m === 'absent') {
        if (this.vtl1Next >= this.k.vtl1.base + this.k.vtl1.count) throw new Error('VTL1 hole exhausted');
        out.push({ pfn: this.vtl1Next++, content: 'readable' });
      } else {
        out.push({ pfn: this.k.mem.alloc('user'), content: m === 'zero' ? 'zero' : m === 'constant' ? 'constant' : 'readable' });
      }
    }
    this.contentCounter += n;
    return out;
  }

  /** Prepares a secure-mode frame; true when the caller should write real content into it. */
  fill(p: { pfn: number; content: ContentClass }): boolean {
    const mem = this.k.mem;
    if (mem.isHole(p.pfn)) return false;
    if (p.content === 'zero') {
      mem.page(p.pfn).fill(0);
      return false;
    }
    if (p.content === 'constant') {
      mem.page(p.pfn).fill(CONSTANT_FILL);
      return false;
    }
    return true;
  }

  /** Background bytes for a user page. */
  filler(pfn: number): void {
    this.k.filler.write(FILLER_SEED_BASE + this.urng.int(0, 0x100000), this.k.mem.page(pfn), 0);
  }
}

export interface UserSpaceInput {
  readonly spec: ScenarioProcess;
  readonly space: AddressSpace;
  readonly secure: boolean;
  readonly mode: SecurePages | null;
  /** Resident user pages (0: no user space). */
  readonly nUser: number;
  readonly dosPath: string;
  /** The image's file name as a mapping shows it (no device prefix). */
  readonly imageFile: string;
  readonly dlls: SystemDlls;
}

/** MM protection index of a PAGE_* name (the inverse of MmProtectToValue for plain protections). */
export function mmProtectionOf(name: string): number {
  const i = MM_PROTECT_TO_VALUE.findIndex((v, idx) => idx < 8 && pageProtectionName(v) === name);
  if (i < 0) throw new Error(`unknown protection ${name}`);
  return i;
}

/** Bytes that open an injected code region (cld; and rsp,-10h; call …: a common shellcode prologue). */
const CODE_PROLOGUE = Buffer.from([0xfc, 0x48, 0x83, 0xe4, 0xf0, 0xe8, 0xc0, 0x00, 0x00, 0x00, 0x41, 0x51, 0x41, 0x50, 0x52, 0x51]);
/** Where a process's extra private regions go (64-bit, WoW64). */
const REGION_BASE = 0x1e0000000n;
const REGION_BASE_WOW = 0x30000000n;
const REGION_STRIDE = 0x100000n;

/** Step: builds one process's user space. */
export function buildUserSpace(st: UserSpaceState, x: UserSpaceInput): UserSpace {
  const userPtes: UserPte[] = [];
  const vads: VadRange[] = [];
  if (x.nUser <= 0) return { pebVa: 0n, userPtes, vads, image: null, regions: [], details: null };
  const { k, urng } = st;
  const { layout, mem } = k;
  const { spec, space, nUser } = x;
  const vad = (start: bigint, pages: number, commit = pages, file: string | null = null) =>
    vads.push({ startVpn: start >> 12n, endVpn: (start >> 12n) + BigInt(pages) - 1n, private: file === null, protection: file === null ? MM_READWRITE : MM_EXECUTE_WRITECOPY, file, commit: file === null ? commit : 0 });
  const wow = !!spec.wow64;
  const region = BigInt(urng.int(0x10, 0xf0)) * 0x100000000n + BigInt(urng.int(0x100, 0xfff)) * 0x100000n;
  const heapBase = BigInt(urng.int(0x100, 0x2ff)) * 0x100000000n + BigInt(urng.int(0, 0x100)) * 0x100000n;
  const imageBase = wow ? BigInt(urng.int(0x40, 0xff0)) * 0x10000n : IMAGE_HIGH_BASE + BigInt(urng.int(0, 0xffff)) * 0x10000n;
  const hasPeb = !spec.noPeb;
  const imgPages = hasPeb ? Math.min(3, Math.max(1, nUser - 4)) : 0;
  const stackPages = hasPeb ? Math.min(2, Math.max(0, nUser - 1 - imgPages - 1)) : 0;
  const heapPages = Math.max(0, nUser - (hasPeb ? 1 : 0) - imgPages - stackPages);
  const pages = st.pages(nUser, x.mode);
  let next = 0;
  const place = (va: bigint) => {
    const p = pages[next++];
    space.map4k(va, p.pfn, { user: true });
    userPtes.push({ va, kind: 'present', pfn: p.pfn, content: p.content });
    return p;
  };
  let pebVa = 0n;
  if (hasPeb) {
    pebVa = region + BigInt(urng.int(0, 0x20)) * 0x1000n;
    const pebPage = place(pebVa);
    vad(pebVa, 1);
    if (st.fill(pebPage)) writePeb(k, space, pebVa, imageBase, heapBase + 0x1000n, spec);
    for (let s = 0; s < stackPages; s++) {
      const p = place(region + 0x200000n - BigInt(stackPages - s) * 0x1000n);
      if (st.fill(p)) st.filler(p.pfn);
    }
    // Stack guard page: demand-zero with protection, not resident; the reserve below it has no PTEs.
    const guard = region + 0x200000n - BigInt(stackPages + 1) * 0x1000n;
    space.setPte(guard, GUARD_PAGE_SOFTWARE_PTE);
    userPtes.push({ va: guard, kind: 'demand-zero' });
    vad(guard - 8n * 0x1000n, stackPages + 1 + 8, stackPages + 1);
    for (let s = 0; s < imgPages; s++) {
      const p = place(imageBase + BigInt(s) * 0x1000n);
      if (st.fill(p)) {
        st.filler(p.pfn);
        if (s === 0) writeUserPe(mem.page(p.pfn), spec.name, wow);
      }
    }
    vad(imageBase, imgPages + 5, 0, x.imageFile);
  }
  for (let s = 0; s < heapPages; s++) {
    const p = place(heapBase + BigInt(s) * 0x1000n);
    if (st.fill(p)) {
      st.filler(p.pfn);
      mem.page(p.pfn).write(x.secure ? 'LSAISO\0\0' : 'HEAP\0\0\0\0', 0x40, 'latin1');
    }
  }
  vad(heapBase, hasPeb ? 0x60 : heapPages + 16, heapPages + (hasPeb ? 3 : 0));
  let details: UserDetails | null = null;
  if (hasPeb) details = writePebDetails(k, space, userPtes, { pebVa, heapBase, imageBase, imagePages: imgPages + 5, spec, dosPath: x.dosPath, dlls: x.dlls });
  if (hasPeb) {
    // A page still in RAM on the standby list (transition PTE) and two paged-out pages.
    const [t] = st.pages(1, x.mode);
    const tva = heapBase + 0x40000n;
    if (st.fill(t)) st.filler(t.pfn);
    space.setPte(tva, (BigInt(t.pfn) << 12n) | PTE.TRANSITION | MM_READWRITE_PTE);
    userPtes.push({ va: tva, kind: 'transition', pfn: t.pfn, content: t.content });
    for (let s = 0; s < 2; s++) {
      const va = heapBase + 0x50000n + BigInt(s) * 0x1000n;
      space.setPte(va, (BigInt(urng.int(0x100, 0xfffff)) << 32n) | MM_READWRITE_PTE | (1n << 1n));
      userPtes.push({ va, kind: 'pagefile' });
    }
    // The system DLLs (image mappings, no resident pages here).
    const d = x.dlls;
    for (const m of wow ? [d.ntdll, d.ntdll32, d.kernel32Wow] : [d.ntdll, d.kernel32]) vad(m.base, m.size / 0x1000, 0, m.path);
  }
  const regions = buildRegions(st, x, vads, userPtes);
  return { pebVa, userPtes, vads, image: hasPeb ? { base: imageBase, size: (imgPages + 5) * 0x1000 } : null, regions, details };
}

/** The scenario's extra private regions: a VAD each, resident pages with their content unless the process is secure. */
function buildRegions(st: UserSpaceState, x: UserSpaceInput, vads: VadRange[], userPtes: UserPte[]): { base: bigint; size: number }[] {
  const { mem } = st.k;
  return (x.spec.regions ?? []).map((r, i) => {
    const base = (x.spec.wow64 ? REGION_BASE_WOW : REGION_BASE) + BigInt(i) * REGION_STRIDE + BigInt(st.urng.int(0, 8)) * 0x10000n;
    const protection = mmProtectionOf(r.protection);
    vads.push({ startVpn: base >> 12n, endVpn: (base >> 12n) + BigInt(r.pages) - 1n, private: true, protection, file: null, commit: r.pages });
    if (!x.secure) {
      for (let p = 0; p < r.pages; p++) {
        const va = base + BigInt(p) * 0x1000n;
        const pfn = mem.alloc('user');
        const page = mem.page(pfn);
        if (r.content !== 'zero') st.filler(pfn);
        if (p === 0 && r.content === 'pe') writeUserPe(page, `payload${i}.dll`, false);
        if (p === 0 && r.content === 'code') CODE_PROLOGUE.copy(page, 0);
        x.space.map4k(va, pfn, { user: true, exec: true });
        userPtes.push({ va, kind: 'present', pfn, content: r.content === 'zero' ? 'zero' : 'readable' });
      }
    }
    return { base, size: r.pages * 0x1000 };
  });
}

/** Issue 14: environment (heap page 2), process parameters (page 1, with the current directory and environment pointer), loader data (page 3) and PEB.Ldr. */
function writePebDetails(k: KernelCtx, space: AddressSpace, userPtes: UserPte[], x: { pebVa: bigint; heapBase: bigint; imageBase: bigint; imagePages: number; spec: ScenarioProcess; dosPath: string; dlls: SystemDlls }): UserDetails {
  const { mem, layout, scenario } = k;
  const usable = (va: bigint): number | undefined => {
    const p = userPtes.find((u) => u.va === (va & ~0xfffn));
    return p && p.kind === 'present' && p.pfn !== undefined && !mem.isHole(p.pfn) && p.content === 'readable' ? p.pfn : undefined;
  };
  const envVa = x.heapBase + BigInt(ENVIRONMENT_HEAP_PAGE) * 0x1000n;
  const vars = environmentOf(scenario, x.spec);
  const envSize = writeEnvironment(space, usable, envVa, vars);
  const cwd = currentDirectoryOf(scenario, x.spec);
  const cmd = writeProcessParameters(k, space, userPtes, x.heapBase + 0x1000n, x.spec, x.dosPath, { cwd, env: envSize !== undefined ? { va: envVa, size: envSize } : null });
  const ldrVa = x.heapBase + BigInt(LOADER_HEAP_PAGE) * 0x1000n;
  const modules = modulesOf(x.spec, x.dosPath, x.imageBase, x.imagePages, x.dlls);
  const pebOk = usable(x.pebVa) !== undefined;
  const ldrOk = pebOk && writeLoaderData(k, space, usable, ldrVa, modules);
  if (ldrOk) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(ldrVa);
    writeVa(space, x.pebVa + BigInt(layout.off('_PEB', 'Ldr')), b);
  }
  const environment = pebOk && cmd !== null && envSize !== undefined ? keptEnvironment(vars) : null;
  return {
    commandLine: pebOk ? cmd : null,
    currentDirectory: pebOk && cmd !== null ? cwd : null,
    environment,
    dlls: ldrOk ? modules.map((m) => ({ base: '0x' + m.base.toString(16), size: m.size, path: m.path })) : null,
    user: environment?.USERNAME ? { name: environment.USERNAME, domain: environment.USERDOMAIN ?? null } : null,
    pfns: [x.pebVa, x.heapBase + 0x1000n, envVa, ldrVa].map(usable).filter((p): p is number => p !== undefined),
  };
}

/** IMAGE_SUBSYSTEM_WINDOWS_GUI, VER_PLATFORM_WIN32_NT. */
const PEB_SUBSYSTEM_GUI = 2;
const PEB_PLATFORM_NT = 2;

function writePeb(k: KernelCtx, space: AddressSpace, pebVa: bigint, imageBase: bigint, paramsVa: bigint, spec: ScenarioProcess): void {
  const peb = Buffer.alloc(k.layout.size('_PEB'));
  const pw = new StructWriter(k.layout, '_PEB', peb, 0);
  pw.set('ImageBaseAddress', imageBase);
  pw.set('ProcessParameters', paramsVa);
  pw.set('OSMajorVersion', 10, true);
  pw.set('OSMinorVersion', 0, true);
  pw.set('OSBuildNumber', k.build, true);
  pw.set('OSPlatformId', PEB_PLATFORM_NT, true);
  pw.set('NumberOfProcessors', k.scenario.processors ?? 4, true);
  pw.set('SessionId', spec.session ?? 0, true);
  pw.set('ImageSubsystem', PEB_SUBSYSTEM_GUI, true);
  pw.set('ImageSubsystemMajorVersion', 10, true);
  writeVa(space, pebVa, peb);
}

/** RTL_PROC_PARAMS_NORMALIZED. */
const PARAMS_NORMALIZED = 1;

/**
 * RTL_USER_PROCESS_PARAMETERS (image path, command line, current directory, environment) on the
 * second heap page, when that page is readable. Returns the command line written, or null.
 */
function writeProcessParameters(k: KernelCtx, space: AddressSpace, userPtes: UserPte[], pv: bigint, spec: ScenarioProcess, dosPath: string, extra: { cwd: string; env: { va: bigint; size: number } | null }): string | null {
  const { layout, mem } = k;
  const p = userPtes.find((u) => u.va === (pv & ~0xfffn));
  if (!p || p.pfn === undefined || mem.isHole(p.pfn) || p.content !== 'readable') return null;
  const size = layout.size('_RTL_USER_PROCESS_PARAMETERS');
  const cmd = spec.commandLine ?? defaultCommandLine(dosPath);
  const imgStr = Buffer.concat([utf16(dosPath), Buffer.alloc(2)]);
  const cmdStr = Buffer.concat([utf16(cmd), Buffer.alloc(2)]);
  const cwdStr = Buffer.concat([utf16(extra.cwd), Buffer.alloc(2)]);
  const b = Buffer.alloc(size + imgStr.length + cmdStr.length + cwdStr.length);
  const w = new StructWriter(layout, '_RTL_USER_PROCESS_PARAMETERS', b, 0);
  w.set('MaximumLength', b.length);
  w.set('Length', b.length);
  w.set('Flags', PARAMS_NORMALIZED);
  imgStr.copy(b, size);
  cmdStr.copy(b, size + imgStr.length);
  cwdStr.copy(b, size + imgStr.length + cmdStr.length);
  unicodeString(w, 'ImagePathName', pv + BigInt(size), dosPath);
  unicodeString(w, 'CommandLine', pv + BigInt(size + imgStr.length), cmd);
  unicodeString(w, 'CurrentDirectory.DosPath', pv + BigInt(size + imgStr.length + cmdStr.length), extra.cwd);
  if (extra.env) {
    w.set('Environment', extra.env.va);
    w.set('EnvironmentSize', extra.env.size, true);
  }
  if (b.length > 0x1000) return null;
  writeVa(space, pv, b);
  return cmd;
}

function defaultCommandLine(dosPath: string): string {
  return dosPath.includes(' ') ? `"${dosPath}"` : dosPath;
}

/** A plausible PE header for a user image's first page. */
export function writeUserPe(b: Buffer, name: string, wow: boolean): void {
  b.fill(0, 0, 0x400);
  b.write('MZ', 0, 'latin1');
  b.writeUInt16LE(0x90, 2);
  b.writeUInt32LE(0xf8, 0x3c);
  b.write('This program cannot be run in DOS mode.\r\r\n$', 0x4e, 'latin1');
  b.write('PE\0\0', 0xf8, 'latin1');
  b.writeUInt16LE(wow ? IMAGE_FILE_MACHINE_I386 : IMAGE_FILE_MACHINE_AMD64, 0xfc);
  b.writeUInt16LE(6, 0xfe);
  b.writeUInt16LE(wow ? 0xe0 : 0xf0, 0x10c);
  b.writeUInt16LE(0x22, 0x10e);
  b.writeUInt16LE(wow ? 0x10b : 0x20b, 0x110);
  b.write(name.slice(0, 32), 0x300, 'latin1');
}

/** The image's first page: the present page whose VA is 64 KiB-aligned in the image range. */
export function imageBaseOf(ptes: readonly UserPte[], spec: ScenarioProcess): bigint {
  const img = ptes.find((p) => p.kind === 'present' && (p.va >= IMAGE_HIGH_BASE || (spec.wow64 && p.va < 0x100000000n)) && (p.va & 0xffffn) === 0n);
  return img ? img.va : 0n;
}
