// Are two builds' analyses the same? Runs `analyze --json` of one build (its bin/vsm-forensics.js)
// on every scenario × form the generator makes (samples/scenarios, FORMS; the large resource
// scenario in full form), plus --no-hash and --no-internals on the full forms, and writes each
// report with only the fields of the run itself removed (run.startedAt/finishedAt/durationMs/
// commandLine, evidence.sha256ComputedAt). `compare` then says which reports differ and where.
// For a change meant to keep results identical (issue 13's work done ahead of the scan): run it
// with the build before and the build after, then compare. The dumps are generated once into
// --dumps (64 MiB by default: above the evidence pass's inline size, so the hash runs on its worker
// and the idle jobs run while it waits); the idle jobs each run did are noted beside its report.
//
//   node --import tsx scripts/same-reports.ts run --bin OLD/bin/vsm-forensics.js --out /tmp/before [--dumps DIR] [--size 64]
//   node --import tsx scripts/same-reports.ts run --bin bin/vsm-forensics.js --out /tmp/after
//   node --import tsx scripts/same-reports.ts compare /tmp/before /tmp/after
// (--only TEXT: the cases whose name holds TEXT; --extra DUMP: that dump as well, e.g. the bench's
// 1 GiB one, where the jobs do run in the waits for the hash.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORMS, generate } from '../samples/generate.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCENARIOS_DIR = join(ROOT, 'samples/scenarios');
const LARGE = 'large/resource-handles-threads';
/** The large scenario's 200,003 handles and 20,000 threads need more memory than the others. */
const LARGE_MiB = 256;
const MiB = 2 ** 20;

const [mode, ...rest] = process.argv.slice(2);
const opt = (name: string, def?: string): string | undefined => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : def;
};

interface Case {
  readonly name: string;
  readonly scenario: string;
  readonly form: (typeof FORMS)[number];
  readonly flags: readonly string[];
  /** Physical memory, MiB (default: --size). */
  readonly sizeMiB?: number;
  /** A dump made elsewhere (--extra). */
  readonly dump?: string;
}

function cases(): Case[] {
  const names = readdirSync(SCENARIOS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
  const out: Case[] = [];
  for (const scenario of names) {
    for (const form of FORMS) out.push({ name: `${scenario}.${form}`, scenario, form, flags: [] });
    out.push({ name: `${scenario}.full.no-hash`, scenario, form: 'full', flags: ['--no-hash'] });
    out.push({ name: `${scenario}.full.no-internals`, scenario, form: 'full', flags: ['--no-internals'] });
  }
  out.push({ name: 'large-resource-handles-threads.full', scenario: LARGE, form: 'full', flags: [], sizeMiB: LARGE_MiB });
  const extra = opt('extra');
  if (extra !== undefined) out.push({ name: `extra.${basename(extra)}`, scenario: '', form: 'full', flags: [], dump: resolve(extra) });
  const only = opt('only');
  return only === undefined ? out : out.filter((c) => c.name.includes(only));
}

/** The report less what belongs to the run rather than the evidence. */
function normalize(report: Record<string, unknown>): Record<string, unknown> {
  const run = { ...(report.run as Record<string, unknown>) };
  for (const k of ['startedAt', 'finishedAt', 'durationMs', 'commandLine']) delete run[k];
  const evidence = { ...(report.evidence as Record<string, unknown>) };
  delete evidence.sha256ComputedAt;
  return { ...report, run, evidence };
}

function runAll(): void {
  const bin = resolve(opt('bin') ?? join(ROOT, 'bin/vsm-forensics.js'));
  const out = resolve(opt('out') ?? '');
  const dumps = resolve(opt('dumps', '/tmp/vsm-same-reports-dumps')!);
  const size = Number(opt('size', '64'));
  if (!opt('out')) throw new Error('--out DIR is required');
  mkdirSync(join(out, 'as-written'), { recursive: true });
  mkdirSync(dumps, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.VSM_FORENSICS_FROM_SOURCE;
  let n = 0;
  for (const c of cases()) {
    const mib = c.sizeMiB ?? size;
    const dump = c.dump ?? join(dumps, `${c.scenario.replace('/', '-')}.${c.form}.${mib}MiB.dmp`);
    if (!existsSync(dump)) generate({ scenario: c.scenario, form: c.form, sizeBytes: mib * MiB, seed: 1, out: dump });
    const json = join(out, 'as-written', `${c.name}.json`);
    const r = spawnSync(process.execPath, [bin, '--log-level', 'debug', '--log-format', 'json', 'analyze', dump, '--json', json, ...c.flags], { env, encoding: 'utf8', maxBuffer: 256 * MiB });
    const idle = /"idleJobs":(\d+)/.exec(r.stderr)?.[1] ?? '-';
    const result = { exit: r.status, stderrLast: r.status === 0 || r.status === 1 ? undefined : r.stderr.trim().split('\n').slice(-1)[0] };
    const report = existsSync(json) ? normalize(JSON.parse(readFileSync(json, 'utf8'))) : null;
    writeFileSync(join(out, `${c.name}.json`), JSON.stringify({ result, report }, null, 1));
    process.stdout.write(`${c.name}: exit ${r.status}, idle jobs ${idle}\n`);
    n++;
  }
  process.stdout.write(`${n} runs written to ${out}\n`);
}

/** Paths (a.b[3].c) where two JSON values differ, the first few. */
function diffs(a: unknown, b: unknown, path = '', out: string[] = []): string[] {
  if (out.length >= 10) return out;
  if (a === b) return out;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    out.push(`${path || '(root)'}: ${JSON.stringify(a)?.slice(0, 80)} ≠ ${JSON.stringify(b)?.slice(0, 80)}`);
    return out;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) diffs((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k, out);
  return out;
}

function compare(): number {
  const [a, b] = rest.map((p) => resolve(p));
  if (!a || !b) throw new Error('compare DIR_A DIR_B');
  const names = readdirSync(a).filter((f) => f.endsWith('.json'));
  let differ = 0;
  let missing = 0;
  for (const f of names.sort()) {
    if (!existsSync(join(b, f))) {
      missing++;
      process.stdout.write(`${f}: only in ${a}\n`);
      continue;
    }
    const d = diffs(JSON.parse(readFileSync(join(a, f), 'utf8')), JSON.parse(readFileSync(join(b, f), 'utf8')));
    if (d.length) {
      differ++;
      process.stdout.write(`${f}: DIFFERS\n  ${d.join('\n  ')}\n`);
    }
  }
  process.stdout.write(`${names.length} reports compared: ${names.length - differ - missing} identical, ${differ} differ, ${missing} missing\n`);
  return differ + missing === 0 && names.length > 0 ? 0 : 1;
}

if (mode === 'run') runAll();
else if (mode === 'compare') process.exitCode = compare();
else {
  process.stderr.write('usage: same-reports.ts run --bin BIN --out DIR [--dumps DIR] [--size MiB] | compare DIR_A DIR_B\n');
  process.exitCode = 64;
}
