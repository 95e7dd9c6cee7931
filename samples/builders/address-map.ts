// Where code lives: the kernel's loaded modules (machine-wide), the system DLLs every user process
// maps at the same base, and per process its image and private regions. Resolves a scenario's
// AddressRef to an address and attributes an address back to a module (for the ground truth).
import type { AddressRef } from '../scenario.ts';
import type { KernelCtx } from './context.ts';

export interface ModuleRange {
  /** Base name as a module list shows it (ntoskrnl.exe, ntdll.dll, LsaIso.exe …). */
  readonly name: string;
  readonly base: bigint;
  readonly size: number;
  /** Full path (kernel: \SystemRoot\…; user: the mapped file name without the device). */
  readonly path: string;
}

/** Offsets of the routines threads start at / APCs point to, inside their modules. */
export const ROUTINE_RVA = {
  /** ntdll!RtlUserThreadStart: ETHREAD.StartAddress of every user thread. */
  ntdllThreadStart: 0x7a3c0,
  /** ntdll!TppWorkerThread: Win32StartAddress of thread-pool workers. */
  ntdllWorker: 0x3c6a0,
  /** kernel32!BaseThreadInitThunk. */
  kernel32Thunk: 0x17020,
  /** The image's entry point. */
  imageEntry: 0x1a40,
  /** System threads start in ntoskrnl's .text here and above. */
  kernelThreadStart: 0x3a1b0,
  /** A driver's routines lie this far into its image. */
  driverRoutine: 0x1230,
} as const;

/** The system DLLs (one base per boot, shared by every process). */
export interface SystemDlls {
  readonly ntdll: ModuleRange;
  readonly kernel32: ModuleRange;
  /** The 32-bit DLLs a WoW64 process maps as well. */
  readonly ntdll32: ModuleRange;
  readonly kernel32Wow: ModuleRange;
}

/** Step: system DLL bases (from their own generator). */
export function planSystemDlls(k: KernelCtx): SystemDlls {
  const r = k.rng.fork('dlls');
  const ntdll = 0x7ffc00000000n + BigInt(r.int(0x100, 0x3f00)) * 0x10000n;
  const kernel32 = ntdll - 0x2000000n - BigInt(r.int(0, 0x100)) * 0x10000n;
  const ntdll32 = 0x77000000n + BigInt(r.int(0, 0x80)) * 0x10000n;
  const kernel32Wow = 0x75000000n + BigInt(r.int(0, 0x80)) * 0x10000n;
  return {
    ntdll: { name: 'ntdll.dll', base: ntdll, size: 0x1f5000, path: '\\Windows\\System32\\ntdll.dll' },
    kernel32: { name: 'kernel32.dll', base: kernel32, size: 0xbd000, path: '\\Windows\\System32\\kernel32.dll' },
    ntdll32: { name: 'ntdll.dll', base: ntdll32, size: 0x1a3000, path: '\\Windows\\SysWOW64\\ntdll.dll' },
    kernel32Wow: { name: 'kernel32.dll', base: kernel32Wow, size: 0xf0000, path: '\\Windows\\SysWOW64\\kernel32.dll' },
  };
}

/** One process's view: kernel modules, its image, the DLLs it maps, its private regions. */
export class AddressMap {
  constructor(
    readonly kernelModules: readonly ModuleRange[],
    readonly image: ModuleRange | null,
    readonly dlls: readonly ModuleRange[],
    readonly regions: readonly { base: bigint; size: number }[],
    readonly dllSet: SystemDlls,
  ) {}

  /** The address a scenario reference names (`offset` bytes into the target). */
  resolve(ref: AddressRef, offset = 0): bigint {
    const at = (base: bigint, extra: number) => base + BigInt(extra + offset);
    if (ref === 'image') {
      if (!this.image) throw new Error('address in the image of a process without one');
      return at(this.image.base, ROUTINE_RVA.imageEntry);
    }
    if (ref === 'ntdll') return at(this.dllSet.ntdll.base, ROUTINE_RVA.ntdllWorker);
    if (ref === 'kernel32') return at(this.dllSet.kernel32.base, ROUTINE_RVA.kernel32Thunk);
    if (ref === 'ntoskrnl') return at(this.kernelModules[0].base, ROUTINE_RVA.kernelThreadStart);
    if (ref === 'nowhere') return 0x5f0000000n + BigInt(offset) * 0x10n;
    if (ref.startsWith('driver:')) {
      const name = ref.slice('driver:'.length).toLowerCase();
      const m = this.kernelModules.find((x) => x.name.toLowerCase() === name);
      if (!m) throw new Error(`no loaded driver ${name}`);
      return at(m.base, ROUTINE_RVA.driverRoutine);
    }
    if (ref.startsWith('region:')) {
      const r = this.regions[Number(ref.slice('region:'.length))];
      if (!r) throw new Error(`no ${ref} in this process`);
      return at(r.base, 0x40);
    }
    throw new Error(`bad address reference ${ref}`);
  }

  /** Name of the module (kernel module, image or mapped DLL) an address lies in, or null. */
  moduleAt(addr: bigint): string | null {
    for (const m of [...(this.image ? [this.image] : []), ...this.dlls, ...this.kernelModules]) {
      if (addr >= m.base && addr < m.base + BigInt(m.size)) return m.name;
    }
    return null;
  }
}
