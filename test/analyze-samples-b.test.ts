// The samples corpus, second half of the scenarios (see analyze-samples-a.test.ts).
import { registerScenarioTests } from './helpers/samples-matrix.ts';

registerScenarioTests(1, 2, 'analyze-samples-b');
