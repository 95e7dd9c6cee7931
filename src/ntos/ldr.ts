// PEB.Ldr → PEB_LDR_DATA.InLoadOrderModuleList → LDR_DATA_TABLE_ENTRY: the DLLs a process has
// loaded, in load order (the image itself first), as the process's own loader recorded them.
// Bounded in entries, cycle-safe; a link that leaves user space or memory stops the walk, marked.
import type { VirtualMemory } from '../dump/types.ts';
import type { KernelLayout } from './layout.ts';
import { isUserPointer, readUnicodeString } from './process.ts';

/** Most loader entries read per process (real processes load a few hundred). */
export const MAX_LOADED_MODULES = 1024;
/** A SizeOfImage above this is not an image (largest real DLLs are tens of MiB). */
const MAX_IMAGE_SIZE = 0x40000000;

export interface LoadedModule {
  readonly base: bigint;
  /** SizeOfImage, null when implausible. */
  readonly size: number | null;
  /** FullDllName (else BaseDllName) text, null when unreadable. */
  readonly path: string | null;
}

export interface LoaderWalk {
  readonly modules: readonly LoadedModule[];
  readonly complete: boolean;
  readonly capHit: boolean;
  /** Why the walk did not run or stopped early. */
  readonly reason?: string;
}

/** Walks the in-load-order module list of the process whose PEB is at `peb` (in its address space `vm`). */
export function walkLoadedModules(vm: VirtualMemory, layout: KernelLayout, peb: bigint, max = MAX_LOADED_MODULES): LoaderWalk {
  const f = layout.fields;
  const ldrP = f['PEB.Ldr'];
  const headP = f['PEB_LDR_DATA.InLoadOrderModuleList'];
  const linksP = f['LDR_DATA_TABLE_ENTRY.InLoadOrderLinks'];
  const baseP = f['LDR_DATA_TABLE_ENTRY.DllBase'];
  const sizeP = f['LDR_DATA_TABLE_ENTRY.SizeOfImage'];
  const fullP = f['LDR_DATA_TABLE_ENTRY.FullDllName'];
  const shortP = f['LDR_DATA_TABLE_ENTRY.BaseDllName'];
  const flinkOff = BigInt(f['LIST_ENTRY.Flink']?.offset ?? 0);
  const stop = (reason: string, modules: LoadedModule[] = [], capHit = false): LoaderWalk => ({ modules, complete: false, capHit, reason });
  if (!ldrP || !headP || !linksP || !baseP) return stop('the layout lacks the loader-list fields');
  if (!isUserPointer(peb)) return stop('the PEB pointer is not a user-mode address');
  const ldr = vm.readU64(peb + BigInt(ldrP.offset));
  if (ldr === undefined) return stop('the PEB page is not in the dump');
  if (ldr === 0n) return stop('PEB.Ldr is not set (the loader had not run)');
  if (!isUserPointer(ldr)) return stop('PEB.Ldr is not a user-mode address');
  const head = ldr + BigInt(headP.offset);
  const modules: LoadedModule[] = [];
  const seen = new Set<bigint>([head]);
  let link = vm.readU64(head + flinkOff);
  if (link === undefined) return stop('PEB_LDR_DATA is not in the dump');
  while (link !== head) {
    if (!isUserPointer(link)) return stop(`a loader link (0x${link.toString(16)}) is not a user-mode address`, modules);
    if (seen.has(link)) return stop('the loader list loops without returning to its head', modules);
    if (modules.length >= max) return stop(`more than ${max} loader entries`, modules, true);
    seen.add(link);
    const entry = link - BigInt(linksP.offset);
    const base = vm.readU64(entry + BigInt(baseP.offset));
    if (base === undefined) return stop(`the loader entry at 0x${entry.toString(16)} is not in the dump`, modules);
    const size = sizeP ? vm.readU32(entry + BigInt(sizeP.offset)) : undefined;
    const name = (fullP && readUnicodeString(vm, layout, entry + BigInt(fullP.offset), true)) || (shortP && readUnicodeString(vm, layout, entry + BigInt(shortP.offset), true)) || null;
    modules.push({ base, size: size !== undefined && size > 0 && size <= MAX_IMAGE_SIZE ? size : null, path: name ? name.text : null });
    const next = vm.readU64(link + flinkOff);
    if (next === undefined) return stop(`the loader entry at 0x${entry.toString(16)} is not in the dump`, modules);
    link = next;
  }
  return { modules, complete: true, capHit: false };
}
