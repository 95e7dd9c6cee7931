// PEB → RTL_USER_PROCESS_PARAMETERS of one process (its own address space): command line, current
// directory, image path and where its environment block lives. Every string is a user-mode
// UNICODE_STRING bounded by readUnicodeString; every field that cannot be read is null with a reason.
import type { VirtualMemory } from '../dump/types.ts';
import type { KernelLayout, LayoutFieldKey } from './layout.ts';
import { isUserPointer, readUnicodeString } from './process.ts';
import type { DumpString } from './strings.ts';

export interface ProcessParameters {
  /** Virtual address of RTL_USER_PROCESS_PARAMETERS, null when the PEB could not be read. */
  readonly va: bigint | null;
  readonly commandLine: DumpString | null;
  readonly currentDirectory: DumpString | null;
  /** ImagePathName: the DOS (drive-letter) path the loader was given. */
  readonly imagePathName: DumpString | null;
  /** Environment block pointer and the size the parameters record for it (0/undefined when not recorded). */
  readonly environment: { readonly va: bigint; readonly size: number | null } | null;
  /** Why a null field is null, by field name. */
  readonly reasons: Readonly<Record<string, string>>;
}

const STRING_FIELDS = [
  ['commandLine', 'RTL_USER_PROCESS_PARAMETERS.CommandLine'],
  ['currentDirectory', 'RTL_USER_PROCESS_PARAMETERS.CurrentDirectory'],
  ['imagePathName', 'RTL_USER_PROCESS_PARAMETERS.ImagePathName'],
] as const satisfies readonly (readonly [string, LayoutFieldKey])[];

/** Reads the process parameters hanging off the PEB at `peb` in the process's address space `vm`. */
export function readProcessParameters(vm: VirtualMemory, layout: KernelLayout, peb: bigint): ProcessParameters {
  const reasons: Record<string, string> = {};
  const none = (why: string): ProcessParameters => {
    for (const [name] of STRING_FIELDS) reasons[name] = why;
    reasons.environment = why;
    return { va: null, commandLine: null, currentDirectory: null, imagePathName: null, environment: null, reasons };
  };
  const ppP = layout.fields['PEB.ProcessParameters'];
  if (!ppP) return none('the layout has no PEB.ProcessParameters');
  if (!isUserPointer(peb)) return none('the PEB pointer is not a user-mode address');
  const params = vm.readU64(peb + BigInt(ppP.offset));
  if (params === undefined) return none('the PEB page is not in the dump');
  if (!isUserPointer(params)) return none('PEB.ProcessParameters is not a user-mode address');

  const strings: Record<string, DumpString | null> = {};
  for (const [name, key] of STRING_FIELDS) {
    const p = layout.fields[key];
    if (!p) {
      strings[name] = null;
      reasons[name] = `the layout has no ${key}`;
      continue;
    }
    const s = readUnicodeString(vm, layout, params + BigInt(p.offset), true);
    strings[name] = s;
    if (!s) reasons[name] = 'empty, not set, implausible, or its buffer is not in the dump';
  }

  let environment: ProcessParameters['environment'] = null;
  const envP = layout.fields['RTL_USER_PROCESS_PARAMETERS.Environment'];
  const sizeP = layout.fields['RTL_USER_PROCESS_PARAMETERS.EnvironmentSize'];
  const envVa = envP ? vm.readU64(params + BigInt(envP.offset)) : undefined;
  if (!envP) reasons.environment = 'the layout has no RTL_USER_PROCESS_PARAMETERS.Environment';
  else if (envVa === undefined) reasons.environment = 'the process parameters are not in the dump';
  else if (envVa === 0n) reasons.environment = 'the environment pointer is not set';
  else if (!isUserPointer(envVa)) reasons.environment = 'the environment pointer is not a user-mode address';
  else {
    const size = sizeP ? vm.readU64(params + BigInt(sizeP.offset)) : undefined;
    environment = { va: envVa, size: size !== undefined && size > 0n && size < 1n << 32n ? Number(size) : null };
  }
  return {
    va: params,
    commandLine: strings.commandLine,
    currentDirectory: strings.currentDirectory,
    imagePathName: strings.imagePathName,
    environment,
    reasons,
  };
}
