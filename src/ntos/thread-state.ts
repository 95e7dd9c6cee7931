// KTHREAD.State values (_KTHREAD_STATE, identical in all seven reference ISFs) → names.

export const THREAD_STATE_INITIALIZED = 0;
export const THREAD_STATE_READY = 1;
export const THREAD_STATE_RUNNING = 2;
export const THREAD_STATE_STANDBY = 3;
export const THREAD_STATE_TERMINATED = 4;
export const THREAD_STATE_WAITING = 5;
export const THREAD_STATE_TRANSITION = 6;
export const THREAD_STATE_DEFERRED_READY = 7;
export const THREAD_STATE_GATE_WAIT_OBSOLETE = 8;
export const THREAD_STATE_WAITING_FOR_PROCESS_IN_SWAP = 9;

export const THREAD_STATE_NAMES: readonly string[] = [
  'Initialized',
  'Ready',
  'Running',
  'Standby',
  'Terminated',
  'Waiting',
  'Transition',
  'DeferredReady',
  'GateWaitObsolete',
  'WaitingForProcessInSwap',
];

/** Name of a KTHREAD.State value, or null when no state has that value. */
export function threadStateName(state: number): string | null {
  return THREAD_STATE_NAMES[state] ?? null;
}
