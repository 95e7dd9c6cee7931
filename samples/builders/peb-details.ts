// Issue 14's user-side process facts: the environment block (COMPUTERNAME, USERNAME, USERDOMAIN …),
// the current directory and the PEB loader list (PEB_LDR_DATA + LDR_DATA_TABLE_ENTRYs with their
// names), written on the process's third and fourth heap pages when those pages hold real content.
// The model (what was written) is returned for the ground truth; nothing is read back.
import { KEPT_ENVIRONMENT_VARIABLES } from '../../src/ntos/environment.ts';
import { writeVa, type AddressSpace } from '../memory.ts';
import type { Scenario, ScenarioProcess } from '../scenario.ts';
import { StructWriter, utf16 } from '../structs.ts';
import type { KernelCtx } from './context.ts';
import { unicodeString } from './object.ts';
import type { ModuleRange, SystemDlls } from './address-map.ts';

/** What the analyzer should find through the PEB (null where it was not written). */
export interface UserDetails {
  readonly commandLine: string | null;
  readonly currentDirectory: string | null;
  /** The kept variables of the written block. */
  readonly environment: Record<string, string> | null;
  readonly dlls: { base: string; size: number; path: string }[] | null;
  readonly user: { name: string; domain: string | null } | null;
  /** Physical frames the analyzer reads for these facts (PEB, parameters, environment, loader pages). */
  readonly pfns: number[];
}

/** Heap pages used: parameters on page 1 (user-space.ts), the environment on page 2, the loader data on page 3. */
export const ENVIRONMENT_HEAP_PAGE = 2;
export const LOADER_HEAP_PAGE = 3;
const PAGE = 0x1000;
const SYSTEM32 = 'C:\\Windows\\System32';
/** Where DLLs other than ntdll/kernel32 are placed (apart from the system DLLs' ranges). */
const EXTRA_DLL_BASE = 0x7ffb00000000n;
const EXTRA_DLL_STRIDE = 0x2000000n;

/** The account a process runs as: session 0 runs as the machine (NAME$), interactive sessions as the scenario's user. */
export function userIdentity(scenario: Scenario, spec: ScenarioProcess): { name: string; domain: string } | null {
  if (!scenario.computerName) return null;
  if (spec.user) {
    const [d, n] = spec.user.includes('\\') ? spec.user.split('\\', 2) : [scenario.domain ?? scenario.computerName, spec.user];
    return { name: n, domain: d };
  }
  if ((spec.session ?? 0) === 0) return { name: `${scenario.computerName}$`, domain: scenario.domain ?? 'WORKGROUP' };
  return { name: scenario.userName ?? 'jdoe', domain: scenario.domain ?? scenario.computerName };
}

/** The environment block's variables in order ("NAME=VALUE"). */
export function environmentOf(scenario: Scenario, spec: ScenarioProcess): string[] {
  const id = userIdentity(scenario, spec);
  if (!id) return [];
  const profile = (spec.session ?? 0) === 0 ? 'C:\\Windows\\system32\\config\\systemprofile' : `C:\\Users\\${id.name}`;
  return [
    '=C:=C:\\Windows\\system32',
    'ALLUSERSPROFILE=C:\\ProgramData',
    `COMPUTERNAME=${scenario.computerName}`,
    'ComSpec=C:\\Windows\\system32\\cmd.exe',
    'NUMBER_OF_PROCESSORS=' + (scenario.processors ?? 4),
    'OS=Windows_NT',
    'Path=C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem;C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\',
    'PROCESSOR_ARCHITECTURE=AMD64',
    'SystemDrive=C:',
    'SystemRoot=C:\\Windows',
    `TEMP=${profile}\\AppData\\Local\\Temp`,
    `USERDOMAIN=${id.domain}`,
    ...(scenario.dnsDomain ? [`USERDNSDOMAIN=${scenario.dnsDomain}`] : []),
    `USERNAME=${id.name}`,
    `USERPROFILE=${profile}`,
    'windir=C:\\Windows',
  ];
}

/** The kept subset, as the analyzer reports it (spelled as in KEPT_ENVIRONMENT_VARIABLES). */
export function keptEnvironment(vars: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of vars) {
    const eq = v.indexOf('=', 1);
    const kept = KEPT_ENVIRONMENT_VARIABLES.find((k) => k.toUpperCase() === v.slice(0, eq).toUpperCase());
    if (kept && !(kept in out)) out[kept] = v.slice(eq + 1);
  }
  return out;
}

export function currentDirectoryOf(scenario: Scenario, spec: ScenarioProcess): string {
  if (spec.currentDirectory) return spec.currentDirectory;
  const id = userIdentity(scenario, spec);
  return (spec.session ?? 0) === 0 || !id ? `${SYSTEM32}\\` : `C:\\Users\\${id.name}\\`;
}

/** Modules in load order: the image, ntdll and kernel32 where the other builders map them (or the WoW64 layer), then the scenario's extras. */
export function modulesOf(spec: ScenarioProcess, dosPath: string, imageBase: bigint, imagePages: number, sys: SystemDlls): { base: bigint; size: number; path: string }[] {
  const mapped = (m: ModuleRange) => ({ base: m.base, size: m.size, path: `C:${m.path}` });
  const system = spec.wow64 ? [mapped(sys.ntdll), ...['wow64.dll', 'wow64win.dll', 'wow64cpu.dll'].map((n) => `${SYSTEM32}\\${n}`)] : [mapped(sys.ntdll), mapped(sys.kernel32)];
  let extra = 0;
  const placed = [...system, ...(spec.dlls ?? [])].map((m) => (typeof m === 'string' ? { base: EXTRA_DLL_BASE + BigInt(extra) * EXTRA_DLL_STRIDE, size: (0x40 + 0x10 * extra++) * PAGE, path: m } : m));
  return [{ base: imageBase, size: imagePages * PAGE, path: dosPath }, ...placed];
}

/** A user page that holds real content (present, not a VTL1 hole, readable class). */
export type PageCheck = (va: bigint) => number | undefined;

/** Writes the environment block at `va` (one page); its byte size, or undefined when the page is not usable. */
export function writeEnvironment(space: AddressSpace, usable: PageCheck, va: bigint, vars: readonly string[]): number | undefined {
  if (vars.length === 0 || usable(va) === undefined) return undefined;
  const block = Buffer.concat([...vars.map((v) => Buffer.concat([utf16(v), Buffer.alloc(2)])), Buffer.alloc(2)]);
  if (block.length > PAGE) return undefined;
  writeVa(space, va, block);
  return block.length;
}

/** Writes PEB_LDR_DATA and the entries on the page at `va`, links them in load order; false when it does not fit or the page is not usable. */
export function writeLoaderData(k: KernelCtx, space: AddressSpace, usable: PageCheck, va: bigint, modules: readonly { base: bigint; size: number; path: string }[]): boolean {
  const { layout } = k;
  if (usable(va) === undefined) return false;
  const ldrSize = layout.size('_PEB_LDR_DATA');
  const entSize = layout.size('_LDR_DATA_TABLE_ENTRY');
  const names = modules.map((m) => Buffer.concat([utf16(m.path), Buffer.alloc(2)]));
  const baseNames = modules.map((m) => Buffer.concat([utf16(m.path.slice(m.path.lastIndexOf('\\') + 1)), Buffer.alloc(2)]));
  const total = ldrSize + modules.length * entSize + names.reduce((n, b) => n + b.length, 0) + baseNames.reduce((n, b) => n + b.length, 0);
  if (total > PAGE) return false;
  const buf = Buffer.alloc(total);
  const ldr = new StructWriter(layout, '_PEB_LDR_DATA', buf, 0);
  ldr.set('Length', ldrSize, true);
  ldr.set('Initialized', 1, true);
  const head = va + BigInt(layout.off('_PEB_LDR_DATA', 'InLoadOrderModuleList'));
  const links = layout.off('_LDR_DATA_TABLE_ENTRY', 'InLoadOrderLinks');
  const entryVa = (i: number) => va + BigInt(ldrSize + i * entSize);
  const linkVa = (i: number) => (i < 0 || i >= modules.length ? head : entryVa(i) + BigInt(links));
  ldr.set('InLoadOrderModuleList.Flink', modules.length ? linkVa(0) : head);
  ldr.set('InLoadOrderModuleList.Blink', modules.length ? linkVa(modules.length - 1) : head);
  let str = ldrSize + modules.length * entSize;
  modules.forEach((m, i) => {
    const e = new StructWriter(layout, '_LDR_DATA_TABLE_ENTRY', buf, ldrSize + i * entSize);
    e.set('InLoadOrderLinks.Flink', linkVa(i + 1));
    e.set('InLoadOrderLinks.Blink', linkVa(i - 1));
    e.set('DllBase', m.base);
    e.set('SizeOfImage', m.size);
    names[i].copy(buf, str);
    unicodeString(e, 'FullDllName', va + BigInt(str), m.path);
    str += names[i].length;
    baseNames[i].copy(buf, str);
    unicodeString(e, 'BaseDllName', va + BigInt(str), m.path.slice(m.path.lastIndexOf('\\') + 1));
    str += baseNames[i].length;
  });
  writeVa(space, va, buf);
  return true;
}
