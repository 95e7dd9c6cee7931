// KAPC modes (_MODE: KernelMode 0, UserMode 1) and the two APC queues of KTHREAD.ApcState.ApcListHead,
// indexed by mode.

export const KERNEL_MODE = 0;
export const USER_MODE = 1;
/** ApcListHead is LIST_ENTRY[MaximumMode]. */
export const APC_QUEUE_COUNT = 2;

export type ApcMode = 'kernel' | 'user';

export const APC_MODE_NAMES: readonly ApcMode[] = ['kernel', 'user'];

/** "kernel"/"user" for a KAPC.ApcMode value, or null for anything else. */
export function apcModeName(mode: number): ApcMode | null {
  return APC_MODE_NAMES[mode] ?? null;
}
