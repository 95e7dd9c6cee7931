// Process internals and tampering findings against the generator's ground truth, layouts 0, 2, 4, 6
// (test/helpers/internals-matrix.ts; the other half is in analyze-internals-b).
import { registerInternalsTests } from './helpers/internals-matrix.ts';

registerInternalsTests(0, 2, 'analyze-internals-a');
