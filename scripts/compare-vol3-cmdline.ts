// Volatility 3's windows.cmdline, windows.envars and windows.dlllist beside `vsm-forensics analyze
// --json -` on the same generated dumps: command lines, the kept environment variables and the PEB
// loader list (base, size, path) per process. Skips (exit 0, one line) where Volatility 3 is absent.
// Exit 1 when any process disagrees.
//
//   node --import tsx scripts/compare-vol3-cmdline.ts [--builds 14393,17763,19041,22000] [--forms full,raw]
//        [--scenarios vsm-credential-guard,hostile-names] [--size 32MiB] [--keep DIR]
// Env: VOL3 (default /work/vol3/vol.py), PYTHON (default /usr/bin/python3), ISF_DIR (default ../shared/data/isf).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, parseSize, type Form } from '../samples/generate.ts';
import { KNOWN_KERNELS } from '../samples/kernels.ts';
import { arg, BIN, capture, PY, VOL, volRows } from './vol3-peer.ts';
import { KEPT_ENVIRONMENT_VARIABLES } from '../src/ntos/environment.ts';


type Row = Record<string, unknown> & { PID: number };
interface Ours {
  processes: { pid: number; secure: boolean | null; commandLine?: { text: string; rawHex?: string } | null; environment?: Record<string, string> | null; dlls?: { base: string; size: number | null; path: string | null }[] | null }[];
}

const vol = (dump: string, plugin: string) => volRows<Row>(dump, plugin);

async function ours(dump: string): Promise<Ours | string> {
  const out = await capture(process.execPath, [BIN, 'analyze', dump, '--no-hash', '--quiet', '--json', '-'], { env: { ...process.env, VSM_FORENSICS_FROM_SOURCE: process.env.VSM_FORENSICS_FROM_SOURCE ?? '1' }, stdoutOnly: true });
  try {
    return JSON.parse(out) as Ours;
  } catch {
    return out.trim().split('\n').slice(-2).join(' | ');
  }
}

/** Volatility prints an error text in Args when the parameters are unreadable. */
const volUnreadable = (args: unknown) => typeof args !== 'string' || /Required memory|Unable to read|not valid|No PEB/i.test(args);
const KEPT = new Set(KEPT_ENVIRONMENT_VARIABLES.map((k) => k.toUpperCase()));

interface Tally {
  agree: number;
  disagree: number;
  onlyOurs: number;
  onlyVol: number;
  items: number;
}
const tally = (): Tally => ({ agree: 0, disagree: 0, onlyOurs: 0, onlyVol: 0, items: 0 });

function compareCmdline(rows: Row[], o: Ours, problems: string[]): Tally {
  const t = tally();
  const byPid = new Map(o.processes.map((p) => [p.pid, p]));
  for (const r of rows) {
    const mine = byPid.get(r.PID)?.commandLine?.text ?? null;
    const theirs = volUnreadable(r.Args) ? null : (r.Args as string);
    if (mine === null && theirs === null) continue;
    if (mine === null) t.onlyVol++;
    else if (theirs === null) t.onlyOurs++;
    else if (mine === theirs) t.agree++;
    else {
      t.disagree++;
      problems.push(`cmdline pid ${r.PID}: ours ${JSON.stringify(mine)} vol ${JSON.stringify(theirs)}`);
    }
  }
  return t;
}

function compareEnvars(rows: Row[], o: Ours, problems: string[]): Tally {
  const t = tally();
  const volByPid = new Map<number, Record<string, string>>();
  for (const r of rows) {
    const name = String(r.Variable ?? '');
    if (!KEPT.has(name.toUpperCase())) continue;
    const m = volByPid.get(r.PID) ?? {};
    m[name.toUpperCase()] = String(r.Value ?? '');
    volByPid.set(r.PID, m);
  }
  for (const p of o.processes) {
    const mine = p.environment ? Object.fromEntries(Object.entries(p.environment).map(([k, v]) => [k.toUpperCase(), v])) : null;
    const theirs = volByPid.get(p.pid) ?? null;
    if (!mine && !theirs) continue;
    if (!mine) t.onlyVol++;
    else if (!theirs) t.onlyOurs++;
    else if (JSON.stringify(Object.entries(mine).sort()) === JSON.stringify(Object.entries(theirs).sort())) {
      t.agree++;
      t.items += Object.keys(mine).length;
    } else {
      t.disagree++;
      problems.push(`envars pid ${p.pid}: ours ${JSON.stringify(mine)} vol ${JSON.stringify(theirs)}`);
    }
  }
  return t;
}

function compareDlls(rows: Row[], o: Ours, problems: string[]): Tally {
  const t = tally();
  const volByPid = new Map<number, string[]>();
  for (const r of rows) {
    const l = volByPid.get(r.PID) ?? [];
    l.push(`0x${Number(r.Base).toString(16)}|${r.Size}|${r.Path}`);
    volByPid.set(r.PID, l);
  }
  for (const p of o.processes) {
    const mine = p.dlls ? p.dlls.map((d) => `0x${BigInt(d.base).toString(16)}|${d.size}|${d.path}`) : null;
    const theirs = volByPid.get(p.pid) ?? null;
    if (!mine?.length && !theirs) continue;
    if (!mine?.length) t.onlyVol++;
    else if (!theirs) t.onlyOurs++;
    else if (mine.join('\n') === theirs.join('\n')) {
      t.agree++;
      t.items += mine.length;
    } else {
      t.disagree++;
      problems.push(`dlllist pid ${p.pid}: ours ${JSON.stringify(mine)} vol ${JSON.stringify(theirs)}`);
    }
  }
  return t;
}

const fmt = (name: string, t: Tally, unit: string) => `${name} ${t.agree}/${t.agree + t.disagree} agree${t.items ? ` (${t.items} ${unit})` : ''}${t.onlyOurs ? `, ${t.onlyOurs} only ours` : ''}${t.onlyVol ? `, ${t.onlyVol} only Volatility` : ''}`;

async function main(): Promise<number> {
  const why = !existsSync(VOL) ? `no Volatility 3 at ${VOL}` : spawnSync(PY, ['-c', 'import pefile'], { encoding: 'utf8' }).status !== 0 ? `${PY} cannot import pefile` : null;
  if (why) {
    process.stdout.write(`compare-vol3-cmdline: skipped (${why})\n`);
    return 0;
  }
  const builds = arg('builds', '14393,17763,19041,22000').split(',').map(Number);
  const forms = arg('forms', 'full').split(',') as Form[];
  const scenarios = arg('scenarios', 'vsm-credential-guard').split(',');
  const size = parseSize(arg('size', '32MiB'));
  const keep = arg('keep', '');
  const dir = keep || mkdtempSync(join(tmpdir(), 'vsm-vol3-cmdline-'));
  mkdirSync(dir, { recursive: true });
  let failed = false;
  const total = { cmd: tally(), env: tally(), dll: tally() };
  try {
    for (const scenario of scenarios) {
      const kernels = scenario === 'vsm-credential-guard' ? builds.map((b) => KNOWN_KERNELS.filter((k) => k.build === b).at(-1)!.guidAge) : [undefined];
      for (const isf of kernels) {
        for (const form of forms) {
          const dump = join(dir, `${scenario}-${isf ?? 'default'}.${form}.dmp`);
          const g = generate({ scenario, isf, form, sizeBytes: size, out: dump, seed: 1 });
          const [o, cmd, env, dll] = await Promise.all([ours(dump), vol(dump, 'windows.cmdline'), vol(dump, 'windows.envars'), vol(dump, 'windows.dlllist')]);
          const label = `${scenario} ${g.truth.build} ${form}`;
          if (typeof o === 'string' || typeof cmd === 'string' || typeof env === 'string' || typeof dll === 'string') {
            process.stdout.write(`${label}: a run failed: ${[o, cmd, env, dll].filter((x) => typeof x === 'string').join(' / ')}\n`);
            failed = true;
            continue;
          }
          const problems: string[] = [];
          const c = compareCmdline(cmd, o, problems);
          const e = compareEnvars(env, o, problems);
          const d = compareDlls(dll, o, problems);
          for (const [k, v] of [['cmd', c], ['env', e], ['dll', d]] as const) for (const f of Object.keys(v) as (keyof Tally)[]) total[k][f] += v[f];
          process.stdout.write(`${label}: ${fmt('cmdline', c, '')}; ${fmt('envars', e, 'kept variables')}; ${fmt('dlllist', d, 'modules')}\n`);
          for (const p of problems.slice(0, 8)) process.stdout.write(`  ${p}\n`);
          if (problems.length || c.onlyVol || e.onlyVol || d.onlyVol) failed = true;
          if (!keep) {
            rmSync(dump, { force: true });
            rmSync(`${dump}.truth.json`, { force: true });
          }
        }
      }
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`total: ${fmt('cmdline', total.cmd, '')}; ${fmt('envars', total.env, 'kept variables')}; ${fmt('dlllist', total.dll, 'modules')}\n`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
