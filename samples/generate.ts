// The generator's API: scenario + real kernel layout + form + size + seed → dump file and its ground truth.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildMachine, type Machine } from './machine.ts';
import { loadScenario, type Scenario } from './scenario.ts';
import { resolveKernel } from './kernels.ts';
import { planForm, writeForm, FORMS, type Form } from './writers.ts';
import { computeTruth, type Truth } from './truth.ts';

export { FORMS, type Form } from './writers.ts';
export type { Truth } from './truth.ts';

export interface GenerateOptions {
  /** Scenario name (samples/scenarios/NAME.json), path, or a loaded scenario. */
  scenario: string | Scenario;
  /** ISF path, build number or GUID-age; default: the scenario's kernel. */
  isf?: string;
  form?: Form;
  /** Physical memory size in bytes (default 64 MiB). */
  sizeBytes?: number;
  seed?: number;
  /** Output dump path; the truth goes to `${out}.truth.json`. */
  out: string;
  /** Overrides the scenario's truncation (fraction of the full file size). */
  truncate?: number | null;
}

export interface GenerateResult {
  truth: Truth;
  dumpPath: string;
  truthPath: string;
  bytesWritten: number;
  millis: number;
}

export function parseSize(s: string | number): number {
  if (typeof s === 'number') return s;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|K|KB|KiB|M|MB|MiB|G|GB|GiB|T|TiB)?\s*$/i.exec(s);
  if (!m) throw new Error(`bad size "${s}" (e.g. 64MiB, 1GiB)`);
  const unit = (m[2] ?? 'B').toUpperCase()[0];
  const mult = unit === 'K' ? 2 ** 10 : unit === 'M' ? 2 ** 20 : unit === 'G' ? 2 ** 30 : unit === 'T' ? 2 ** 40 : 1;
  const bytes = Math.floor(Number(m[1]) * mult);
  return Math.floor(bytes / 4096) * 4096;
}

export function machineFor(opts: Pick<GenerateOptions, 'scenario' | 'isf' | 'sizeBytes' | 'seed'>): Machine {
  const scenario = typeof opts.scenario === 'string' ? loadScenario(opts.scenario) : opts.scenario;
  const isfPath = resolveKernel(opts.isf ?? scenario.kernel).path;
  return buildMachine({ scenario, isfPath, sizeBytes: opts.sizeBytes ?? 64 * 2 ** 20, seed: opts.seed ?? 1 });
}

export function generate(opts: GenerateOptions): GenerateResult {
  const t0 = performance.now();
  const form = opts.form ?? 'full';
  if (!FORMS.includes(form)) throw new Error(`unknown form "${form}" (${FORMS.join(', ')})`);
  const sizeBytes = opts.sizeBytes ?? 64 * 2 ** 20;
  const m = machineFor({ ...opts, sizeBytes });
  const plan = planForm(m, form);
  const truncate = opts.truncate !== undefined ? opts.truncate : m.scenario.truncate;
  const cutAt = truncate ? Math.max(plan.firstPageOffset + 4096, Math.floor((plan.fileSize * truncate) / 4096) * 4096) : undefined;
  mkdirSync(dirname(opts.out), { recursive: true });
  const bytesWritten = writeForm(m, plan, opts.out, cutAt);
  const truth = computeTruth(m, plan, bytesWritten, sizeBytes);
  const truthPath = `${opts.out}.truth.json`;
  writeFileSync(truthPath, JSON.stringify(truth, null, 2) + '\n');
  return { truth, dumpPath: opts.out, truthPath, bytesWritten, millis: performance.now() - t0 };
}
