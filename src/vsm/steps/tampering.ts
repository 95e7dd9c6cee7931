// Step: tampering findings over the processes with their internals (src/vsm/tampering.ts holds the rule table).
import { tamperingFindings, type TamperInput } from '../tampering.ts';
import { notes, type StepNotes } from './notes.ts';

export function tamperingStep(inp: TamperInput): StepNotes {
  return notes({ findings: tamperingFindings(inp) });
}
