// Process internals and tampering findings against the generator's ground truth, layouts 1, 3, 5
// (test/helpers/internals-matrix.ts; the other half is in analyze-internals-a).
import { registerInternalsTests } from './helpers/internals-matrix.ts';

registerInternalsTests(1, 2, 'analyze-internals-b');
