// The samples corpus (first half of the scenarios; the build-* scenarios put the main scenario on
// every real layout in ../shared/data/isf), every dump form, against each dump's ground truth.
import { registerScenarioTests } from './helpers/samples-matrix.ts';

registerScenarioTests(0, 2, 'analyze-samples-a');
