// Process and thread access rights (winnt.h) and a decoder from a granted-access mask to names.
// The analysis names the rights a handle grants (handles.ts, tampering rules); nothing here reads memory.

/** Standard rights shared by every object type (winnt.h). */
export const DELETE = 0x00010000;
export const READ_CONTROL = 0x00020000;
export const WRITE_DAC = 0x00040000;
export const WRITE_OWNER = 0x00080000;
export const SYNCHRONIZE = 0x00100000;

export const PROCESS_TERMINATE = 0x0001;
export const PROCESS_CREATE_THREAD = 0x0002;
export const PROCESS_SET_SESSIONID = 0x0004;
export const PROCESS_VM_OPERATION = 0x0008;
export const PROCESS_VM_READ = 0x0010;
export const PROCESS_VM_WRITE = 0x0020;
export const PROCESS_DUP_HANDLE = 0x0040;
export const PROCESS_CREATE_PROCESS = 0x0080;
export const PROCESS_SET_QUOTA = 0x0100;
export const PROCESS_SET_INFORMATION = 0x0200;
export const PROCESS_QUERY_INFORMATION = 0x0400;
export const PROCESS_SUSPEND_RESUME = 0x0800;
export const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
export const PROCESS_SET_LIMITED_INFORMATION = 0x2000;
/** Every process right (Vista+): standard rights required | SYNCHRONIZE | 0xFFFF. */
export const PROCESS_ALL_ACCESS = 0x001fffff;

export const THREAD_TERMINATE = 0x0001;
export const THREAD_SUSPEND_RESUME = 0x0002;
export const THREAD_ALERT = 0x0004;
export const THREAD_GET_CONTEXT = 0x0008;
export const THREAD_SET_CONTEXT = 0x0010;
export const THREAD_SET_INFORMATION = 0x0020;
export const THREAD_QUERY_INFORMATION = 0x0040;
export const THREAD_SET_THREAD_TOKEN = 0x0080;
export const THREAD_IMPERSONATE = 0x0100;
export const THREAD_DIRECT_IMPERSONATION = 0x0200;
export const THREAD_SET_LIMITED_INFORMATION = 0x0400;
export const THREAD_QUERY_LIMITED_INFORMATION = 0x0800;
export const THREAD_RESUME = 0x1000;
export const THREAD_ALL_ACCESS = 0x001fffff;

/** The granted-access field holds 25 bits (HANDLE_TABLE_ENTRY.GrantedAccessBits). */
export const GRANTED_ACCESS_MASK = 0x01ffffff;

type RightTable = readonly (readonly [number, string])[];

const STANDARD_RIGHTS: RightTable = [
  [DELETE, 'DELETE'],
  [READ_CONTROL, 'READ_CONTROL'],
  [WRITE_DAC, 'WRITE_DAC'],
  [WRITE_OWNER, 'WRITE_OWNER'],
  [SYNCHRONIZE, 'SYNCHRONIZE'],
];

export const PROCESS_RIGHTS: RightTable = [
  [PROCESS_TERMINATE, 'PROCESS_TERMINATE'],
  [PROCESS_CREATE_THREAD, 'PROCESS_CREATE_THREAD'],
  [PROCESS_SET_SESSIONID, 'PROCESS_SET_SESSIONID'],
  [PROCESS_VM_OPERATION, 'PROCESS_VM_OPERATION'],
  [PROCESS_VM_READ, 'PROCESS_VM_READ'],
  [PROCESS_VM_WRITE, 'PROCESS_VM_WRITE'],
  [PROCESS_DUP_HANDLE, 'PROCESS_DUP_HANDLE'],
  [PROCESS_CREATE_PROCESS, 'PROCESS_CREATE_PROCESS'],
  [PROCESS_SET_QUOTA, 'PROCESS_SET_QUOTA'],
  [PROCESS_SET_INFORMATION, 'PROCESS_SET_INFORMATION'],
  [PROCESS_QUERY_INFORMATION, 'PROCESS_QUERY_INFORMATION'],
  [PROCESS_SUSPEND_RESUME, 'PROCESS_SUSPEND_RESUME'],
  [PROCESS_QUERY_LIMITED_INFORMATION, 'PROCESS_QUERY_LIMITED_INFORMATION'],
  [PROCESS_SET_LIMITED_INFORMATION, 'PROCESS_SET_LIMITED_INFORMATION'],
  ...STANDARD_RIGHTS,
];

export const THREAD_RIGHTS: RightTable = [
  [THREAD_TERMINATE, 'THREAD_TERMINATE'],
  [THREAD_SUSPEND_RESUME, 'THREAD_SUSPEND_RESUME'],
  [THREAD_ALERT, 'THREAD_ALERT'],
  [THREAD_GET_CONTEXT, 'THREAD_GET_CONTEXT'],
  [THREAD_SET_CONTEXT, 'THREAD_SET_CONTEXT'],
  [THREAD_SET_INFORMATION, 'THREAD_SET_INFORMATION'],
  [THREAD_QUERY_INFORMATION, 'THREAD_QUERY_INFORMATION'],
  [THREAD_SET_THREAD_TOKEN, 'THREAD_SET_THREAD_TOKEN'],
  [THREAD_IMPERSONATE, 'THREAD_IMPERSONATE'],
  [THREAD_DIRECT_IMPERSONATION, 'THREAD_DIRECT_IMPERSONATION'],
  [THREAD_SET_LIMITED_INFORMATION, 'THREAD_SET_LIMITED_INFORMATION'],
  [THREAD_QUERY_LIMITED_INFORMATION, 'THREAD_QUERY_LIMITED_INFORMATION'],
  [THREAD_RESUME, 'THREAD_RESUME'],
  ...STANDARD_RIGHTS,
];

/** Process rights that let the holder read, change or run code in the target (tampering rules). */
export const PROCESS_TAMPER_RIGHTS =
  PROCESS_VM_READ | PROCESS_VM_WRITE | PROCESS_VM_OPERATION | PROCESS_CREATE_THREAD | PROCESS_DUP_HANDLE | PROCESS_SUSPEND_RESUME | PROCESS_SET_INFORMATION | PROCESS_TERMINATE;
/** Thread rights that let the holder hijack or stall the thread. */
export const THREAD_TAMPER_RIGHTS = THREAD_SET_CONTEXT | THREAD_GET_CONTEXT | THREAD_SUSPEND_RESUME | THREAD_SET_INFORMATION | THREAD_IMPERSONATE | THREAD_DIRECT_IMPERSONATION | THREAD_TERMINATE;

function decode(mask: number, table: RightTable): string[] {
  const names: string[] = [];
  let rest = mask >>> 0;
  for (const [bit, name] of table) {
    if ((rest & bit) !== 0) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  // Bits no name covers stay visible as one hex entry, never dropped.
  if (rest !== 0) names.push('0x' + rest.toString(16));
  return names;
}

/** Names of the process rights in `mask` (lowest bit first); leftover bits as one "0x…" entry. */
export function processRights(mask: number): string[] {
  return decode(mask, PROCESS_RIGHTS);
}

/** Names of the thread rights in `mask` (lowest bit first); leftover bits as one "0x…" entry. */
export function threadRights(mask: number): string[] {
  return decode(mask, THREAD_RIGHTS);
}

/** Rights decoded by object type name ("Process", "Thread"); other types get no names. */
export function decodeRights(type: string | null, mask: number): string[] {
  if (type === 'Process') return processRights(mask);
  if (type === 'Thread') return threadRights(mask);
  return [];
}
