// Peer check of the synthetic dump writers against Volatility 3 (../shared/docs/peers.md):
// generates the main scenario in several forms and kernel layouts, runs windows.pslist and
// windows.psscan, and compares their rows with the ground truth. Skips cleanly without vol3.
//
//   npx tsx scripts/peer-vol3.ts [--builds 17763,19041,22000] [--forms full,bitmap,raw] [--size 64MiB]
//                                [--scenario vsm-credential-guard] [--seed 1] [--keep DIR]
// Env: VOL3 (default /work/vol3/vol.py), PYTHON (default /usr/bin/python3), ISF_DIR (default ../shared/data/isf).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, parseSize, type Form, type Truth } from '../samples/generate.ts';
import { defaultIsfRoot, resolveKernel } from '../samples/kernels.ts';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

const VOL = process.env.VOL3 ?? '/work/vol3/vol.py';
const PY = process.env.PYTHON ?? '/usr/bin/python3';
const ISF_DIR = process.env.ISF_DIR ?? defaultIsfRoot();

interface VolRow {
  PID: number;
  PPID: number;
  ImageFileName: string;
  CreateTime: string | null;
  ExitTime: string | null;
  'Offset(V)': number;
}

function vol3Available(): string | null {
  if (!existsSync(VOL)) return `no Volatility 3 at ${VOL}`;
  if (!existsSync(PY)) return `no ${PY}`;
  const r = spawnSync(PY, ['-c', 'import pefile'], { encoding: 'utf8' });
  if (r.status !== 0) return `${PY} lacks pefile (apt-get install python3-pefile)`;
  return null;
}

function runVol(dump: string, plugin: string): Promise<{ rows: VolRow[] | null; raw: string }> {
  return new Promise((resolve) => {
    const p = spawn(PY, [VOL, '--offline', '-q', '-s', ISF_DIR, '-f', dump, '-r', 'json', plugin], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', () => {
      const at = out.indexOf('[');
      try {
        resolve({ rows: at >= 0 ? (JSON.parse(out.slice(at)) as VolRow[]) : null, raw: out });
      } catch {
        resolve({ rows: null, raw: out });
      }
    });
  });
}

/** Volatility prints create times to the second. */
const sec = (iso: string | null) => (iso ? iso.slice(0, 19) : null);

function rowMatches(r: VolRow, t: Truth['processes'][number]): string | null {
  const bad: string[] = [];
  if (r.PPID !== t.ppid) bad.push(`ppid ${r.PPID}≠${t.ppid}`);
  if (r.ImageFileName !== t.name) bad.push(`name ${JSON.stringify(r.ImageFileName)}≠${JSON.stringify(t.name)}`);
  if (sec(r.CreateTime) !== sec(t.createTime)) bad.push(`create ${r.CreateTime}≠${t.createTime}`);
  if (sec(r.ExitTime) !== sec(t.exitTime)) bad.push(`exit ${r.ExitTime}≠${t.exitTime}`);
  const va = BigInt(t.eprocess.va) & 0xffffffffffffn;
  if (BigInt(r['Offset(V)']) !== va) bad.push(`offset 0x${r['Offset(V)'].toString(16)}≠0x${va.toString(16)}`);
  return bad.length ? `pid ${r.PID}: ${bad.join(', ')}` : null;
}

interface Outcome {
  build: number;
  form: Form;
  pslist: string;
  psscan: string;
  unlinkedFound: string;
  decoysFound: number;
  ok: boolean;
  problems: string[];
}

async function check(dump: string, truth: Truth, form: Form): Promise<Outcome> {
  const problems: string[] = [];
  const [pl, ps] = await Promise.all([runVol(dump, 'windows.pslist'), runVol(dump, 'windows.psscan')]);
  const byPid = new Map(truth.processes.map((p) => [p.pid, p]));
  // pslist: exactly the linked processes, in list order.
  let plText = 'error';
  if (!pl.rows) problems.push(`pslist failed: ${pl.raw.split('\n').slice(-3).join(' | ')}`);
  else {
    const got = pl.rows.map((r) => r.PID);
    const want = truth.listOrder;
    if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`pslist PIDs ${JSON.stringify(got)} ≠ truth ${JSON.stringify(want)}`);
    for (const r of pl.rows) {
      const t = byPid.get(r.PID);
      const m = t ? rowMatches(r, t) : `unexpected pid ${r.PID}`;
      if (m) problems.push(`pslist ${m}`);
    }
    plText = `${pl.rows.length}/${want.length}`;
  }
  // psscan: every process object, none of the decoys.
  let psText = 'error';
  let unlinkedFound = '-';
  let decoysFound = 0;
  if (!ps.rows) problems.push(`psscan failed: ${ps.raw.split('\n').slice(-3).join(' | ')}`);
  else {
    const want = new Set(truth.poolObjects);
    const got = new Set(ps.rows.map((r) => r.PID));
    for (const pid of want) if (!got.has(pid)) problems.push(`psscan missed pid ${pid}`);
    for (const r of ps.rows) {
      const t = byPid.get(r.PID);
      if (!t) {
        decoysFound++;
        problems.push(`psscan found a non-process: pid ${r.PID} ${JSON.stringify(r.ImageFileName)}`);
        continue;
      }
      const m = rowMatches(r, t);
      if (m) problems.push(`psscan ${m}`);
    }
    if (ps.rows.length !== want.size) problems.push(`psscan rows ${ps.rows.length} ≠ ${want.size}`);
    const unlinked = truth.processes.filter((p) => p.unlinked);
    unlinkedFound = unlinked.length ? `${unlinked.filter((u) => got.has(u.pid)).length}/${unlinked.length}` : '-';
    psText = `${ps.rows.length}/${want.size}`;
  }
  return { build: truth.build, form, pslist: plText, psscan: psText, unlinkedFound, decoysFound, ok: problems.length === 0, problems };
}

async function main(): Promise<number> {
  const why = vol3Available();
  if (why) {
    process.stdout.write(`peer-vol3: skipped (${why})\n`);
    return 0;
  }
  const builds = arg('builds', '17763,19041,22000').split(',');
  const forms = arg('forms', 'full,bitmap,raw').split(',') as Form[];
  const sizeBytes = parseSize(arg('size', '64MiB'));
  const scenario = arg('scenario', 'vsm-credential-guard');
  const seed = Number(arg('seed', '1'));
  const keep = process.argv.includes('--keep') ? arg('keep', '') : '';
  const dir = keep || mkdtempSync(join(tmpdir(), 'peer-vol3-'));
  mkdirSync(dir, { recursive: true });
  const jobs: { build: string; form: Form }[] = [];
  for (const b of builds) for (const f of forms) jobs.push({ build: b, form: f });
  const outcomes: Outcome[] = [];
  const parallel = Math.max(1, Number(process.env.PEER_JOBS ?? 1));
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const j = jobs[next++];
      const dump = join(dir, `${scenario}-${j.build}-${j.form}.dmp`);
      const g = generate({ scenario, isf: resolveKernel(j.build).path, form: j.form, sizeBytes, seed, out: dump });
      const o = await check(dump, g.truth, j.form);
      outcomes.push(o);
      process.stderr.write(`${o.ok ? 'ok  ' : 'FAIL'} ${j.build} ${j.form}\n`);
      if (!keep) rmSync(dump, { force: true });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  outcomes.sort((a, b) => a.build - b.build || forms.indexOf(a.form) - forms.indexOf(b.form));
  const lines = ['build  form    pslist  psscan  unlinked  decoys  agree', '-----  ------  ------  ------  --------  ------  -----'];
  for (const o of outcomes) {
    lines.push(`${String(o.build).padEnd(5)}  ${o.form.padEnd(6)}  ${o.pslist.padEnd(6)}  ${o.psscan.padEnd(6)}  ${o.unlinkedFound.padEnd(8)}  ${String(o.decoysFound).padEnd(6)}  ${o.ok ? 'yes' : 'NO'}`);
  }
  process.stdout.write(`Volatility 3 vs ground truth (scenario ${scenario}, ${sizeBytes / 2 ** 20} MiB, seed ${seed}); pslist/psscan = rows/expected\n${lines.join('\n')}\n`);
  for (const o of outcomes) for (const p of o.problems) process.stdout.write(`  ${o.build} ${o.form}: ${p}\n`);
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

main().then((c) => process.exit(c));
