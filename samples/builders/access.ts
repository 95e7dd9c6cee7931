// Access masks of the non-process objects the generator hands out handles to (winnt.h).
import { SYNCHRONIZE } from '../../src/ntos/access-rights.ts';

/** EVENT_ALL_ACCESS, MUTANT_ALL_ACCESS. */
export const EVENT_ALL_ACCESS = 0x1f0003;
export const MUTANT_ALL_ACCESS = 0x1f0001;
/** FILE_TRAVERSE | SYNCHRONIZE: a process's handle on its current directory. */
export const FILE_TRAVERSE_SYNC = 0x20 | SYNCHRONIZE;
