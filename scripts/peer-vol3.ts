// Peer check of the synthetic dump writers against Volatility 3 (../shared/docs/peers.md):
// generates the main scenario in several forms and kernel layouts, runs windows.pslist and
// windows.psscan, and compares their rows with the ground truth. Skips cleanly without vol3.
//
//   npx tsx scripts/peer-vol3.ts [--builds 17763,19041,22000] [--forms full,bitmap,raw] [--size 64MiB]
//                                [--scenario vsm-credential-guard] [--seed 1] [--keep DIR] [--kdmp PARSER]
// Env: VOL3 (default /work/vol3/vol.py), PYTHON (default /usr/bin/python3), ISF_DIR (default ../shared/data/isf),
// PEER_JOBS (parallel Volatility runs), KDMP_PARSER (kdmp-parser's `parser` binary, built outside the repo).
//
// With kdmp-parser, every crash form (DumpType 1, 5, 6 and 8, which Volatility cannot all read) is
// also opened by its parser and sampled pages (each EPROCESS page, the DTB, the kernel header, a
// spread of stored pages) are compared byte for byte with the raw image of the same machine.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, mkdirSync } from 'node:fs';
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
  version: string;
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
  return { build: truth.build, version: truth.version ?? String(truth.build), form, pslist: plText, psscan: psText, unlinkedFound, decoysFound, ok: problems.length === 0, problems };
}

/** kdmp-parser's `-p PA` page dump (hexdump lines) → the page's bytes, or null when it says the address is not valid. */
function kdmpPage(parser: string, dump: string, pa: number): Buffer | null {
  const r = spawnSync(parser, ['-p', '0x' + pa.toString(16), dump], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const out = Buffer.alloc(4096);
  let n = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]+): ((?:[0-9a-f]{2} ){16})/.exec(line);
    if (!m) continue;
    const bytes = Buffer.from(m[2].replace(/ /g, ''), 'hex');
    const at = parseInt(m[1], 16) - pa;
    if (at >= 0 && at + 16 <= 4096) {
      bytes.copy(out, at);
      n += 16;
    }
  }
  return n === 4096 ? out : null;
}

function kdmpCheck(parser: string, scenario: string, build: string, sizeBytes: number, seed: number, dir: string): string[] {
  const lines: string[] = [];
  const raw = join(dir, `kdmp-${build}-raw.dmp`);
  const rg = generate({ scenario, isf: resolveKernel(build).path, form: 'raw', sizeBytes, seed, out: raw });
  const rawFd = openSync(raw, 'r');
  const rawPage = (pfn: number) => {
    const b = Buffer.alloc(4096);
    readSync(rawFd, b, 0, 4096, pfn * 4096);
    return b;
  };
  for (const form of ['full', 'bitmap', 'active', 'kernel'] as Form[]) {
    const dump = join(dir, `kdmp-${build}-${form}.dmp`);
    const g = generate({ scenario, isf: resolveKernel(build).path, form, sizeBytes, seed, out: dump });
    const t = g.truth;
    const stored = new Set<number>();
    for (const r of t.memory.storedRuns) for (let p = r.basePage; p < r.basePage + r.pageCount; p++) stored.add(p);
    const sample = new Set<number>([Number(t.kernel.dtb) / 4096, ...t.processes.map((p) => Math.floor(Number(p.eprocess.pa) / 4096))]);
    const all = [...stored];
    for (let i = 0; i < 24; i++) sample.add(all[Math.floor((i * all.length) / 24)]);
    sample.add(rg.truth.memory.holes[1].basePage); // a hole: kdmp-parser must not have it
    let same = 0;
    let absentOk = 0;
    const bad: string[] = [];
    for (const pfn of sample) {
      const got = kdmpPage(parser, dump, pfn * 4096);
      if (!stored.has(pfn)) {
        if (got === null) absentOk++;
        else bad.push(`page 0x${pfn.toString(16)} should be absent`);
        continue;
      }
      if (got && got.equals(rawPage(pfn))) same++;
      else bad.push(`page 0x${pfn.toString(16)} ${got ? 'differs from the raw image' : 'not found'}`);
    }
    lines.push(`${(t.version ?? String(t.build)).padEnd(16)}  ${form.padEnd(6)}  DumpType ${String(t.dumpType).padEnd(2)}  ${same} pages equal to raw, ${absentOk} absent as expected${bad.length ? `; PROBLEMS: ${bad.slice(0, 4).join('; ')}` : ''}`);
    rmSync(dump, { force: true });
    rmSync(`${dump}.truth.json`, { force: true });
  }
  closeSync(rawFd);
  rmSync(raw, { force: true });
  rmSync(`${raw}.truth.json`, { force: true });
  return lines;
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
  outcomes.sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }) || forms.indexOf(a.form) - forms.indexOf(b.form));
  const lines = ['kernel            form    pslist  psscan  unlinked  decoys  agree', '----------------  ------  ------  ------  --------  ------  -----'];
  for (const o of outcomes) {
    lines.push(`${o.version.padEnd(16)}  ${o.form.padEnd(6)}  ${o.pslist.padEnd(6)}  ${o.psscan.padEnd(6)}  ${o.unlinkedFound.padEnd(8)}  ${String(o.decoysFound).padEnd(6)}  ${o.ok ? 'yes' : 'NO'}`);
  }
  process.stdout.write(`Volatility 3 vs ground truth (scenario ${scenario}, ${sizeBytes / 2 ** 20} MiB, seed ${seed}); pslist/psscan = rows/expected\n${lines.join('\n')}\n`);
  for (const o of outcomes) for (const p of o.problems) process.stdout.write(`  ${o.build} ${o.form}: ${p}\n`);
  const kdmp = process.argv.includes('--kdmp') ? arg('kdmp', '') : process.env.KDMP_PARSER ?? '';
  let kdmpOk = true;
  if (kdmp && existsSync(kdmp)) {
    process.stdout.write(`\nkdmp-parser (${kdmp}) vs the raw image of the same machine\n`);
    for (const b of builds) {
      for (const l of kdmpCheck(kdmp, scenario, b, sizeBytes, seed, dir)) {
        if (l.includes('PROBLEMS')) kdmpOk = false;
        process.stdout.write(l + '\n');
      }
    }
  }
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return outcomes.every((o) => o.ok) && kdmpOk ? 0 : 1;
}

main().then((c) => process.exit(c));
