// Runs Volatility 3 (windows.pslist, windows.psscan) beside `vsm-forensics analyze --json -` on
// the same generated dumps and compares PIDs, PPIDs, names, create/exit times and offsets.
// Skips (exit 0, one line) where Volatility 3 is absent. Exit 1 when any dump disagrees.
//
//   node --import tsx scripts/compare-vol3-analyze.ts [--builds 17763,19041,22000] [--forms full,bitmap,raw]
//        [--scenarios vsm-credential-guard,list-bad-flink,hostile-names] [--size 32MiB] [--keep DIR]
// Env: VOL3 (default /work/vol3/vol.py), PYTHON (default /usr/bin/python3), ISF_DIR (default ../shared/data/isf), PEER_JOBS (default 2).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, parseSize, type Form } from '../samples/generate.ts';
import { KNOWN_KERNELS } from '../samples/kernels.ts';
import { arg, BIN, capture, JOBS, PY, VOL, volRows } from './vol3-peer.ts';


interface VolRow {
  PID: number;
  PPID: number;
  ImageFileName: string;
  CreateTime: string | null;
  ExitTime: string | null;
  'Offset(V)': number;
}
interface OurProcess {
  pid: number;
  ppid: number;
  name: { text: string; rawHex?: string };
  createTime: string | null;
  exitTime: string | null;
  eprocess: { va: string | null; pa: string | null };
  sources: string[];
}

const vol = (dump: string, plugin: string) => volRows<VolRow>(dump, plugin);

async function ours(dump: string): Promise<{ processes: OurProcess[]; findings: { rule: string }[] } | string> {
  const out = await capture(process.execPath, [BIN, 'analyze', dump, '--no-hash', '--quiet', '--json', '-']);
  try {
    return JSON.parse(out) as { processes: OurProcess[]; findings: { rule: string }[] };
  } catch {
    return out.trim().split('\n').slice(-2).join(' | ');
  }
}

/** Volatility prints times to the second (and as "+00:00"); compare to the second. */
const sec = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 19) : null);
/** Volatility's name is ImageFileName decoded as text; ours escapes unsafe bytes, keeping them in rawHex. */
const ourName = (p: OurProcess) => (p.name.rawHex ? Buffer.from(p.name.rawHex, 'hex').toString('latin1') : p.name.text);
const low48 = (h: string | null) => (h === null ? null : BigInt(h) & 0xffffffffffffn);

function compare(kind: 'pslist' | 'psscan', rows: VolRow[], mine: OurProcess[], listBroken: boolean, notes: string[]): string[] {
  const problems: string[] = [];
  const set = mine.filter((p) => p.sources.includes(kind === 'pslist' ? 'list' : 'scan'));
  const byPid = new Map(set.map((p) => [p.pid, p]));
  const volPids = new Set(rows.map((r) => r.PID));
  let lacking = set.filter((p) => !volPids.has(p.pid));
  // Designed difference: after a broken link Volatility stops, while we also walk back from the
  // head. Those entries are the tail of our list order, after everything Volatility listed.
  if (kind === 'pslist' && listBroken && lacking.length) {
    const firstLacking = set.indexOf(lacking[0]);
    if (set.slice(firstLacking).every((p) => !volPids.has(p.pid))) {
      notes.push(`pslist: +${lacking.length} entries recovered backwards from the head past the broken link (Volatility stops there)`);
      lacking = [];
    }
  }
  for (const p of lacking) problems.push(`${kind}: Volatility lacks pid ${p.pid} (${ourName(p)})`);
  for (const r of rows) {
    const p = byPid.get(r.PID);
    if (!p) {
      problems.push(`${kind}: we lack pid ${r.PID} (${JSON.stringify(r.ImageFileName)})`);
      continue;
    }
    const bad: string[] = [];
    if (r.PPID !== p.ppid) bad.push(`ppid ${r.PPID}≠${p.ppid}`);
    if (r.ImageFileName !== ourName(p)) bad.push(`name ${JSON.stringify(r.ImageFileName)}≠${JSON.stringify(ourName(p))}`);
    if (sec(r.CreateTime) !== sec(p.createTime)) bad.push(`create ${r.CreateTime}≠${p.createTime}`);
    if (sec(r.ExitTime) !== sec(p.exitTime)) bad.push(`exit ${r.ExitTime}≠${p.exitTime}`);
    // pslist offsets are virtual; psscan's are those of the layer it scanned: accept our VA or PA.
    const off = BigInt(r['Offset(V)']);
    if (off !== low48(p.eprocess.va) && (kind === 'pslist' || off !== low48(p.eprocess.pa))) bad.push(`offset 0x${off.toString(16)}≠${p.eprocess.va}/${p.eprocess.pa}`);
    if (bad.length) problems.push(`${kind} pid ${r.PID}: ${bad.join(', ')}`);
  }
  return problems;
}

async function main(): Promise<number> {
  const why = !existsSync(VOL) ? `no Volatility 3 at ${VOL}` : spawnSync(PY, ['-c', 'import pefile'], { encoding: 'utf8' }).status !== 0 ? `${PY} cannot import pefile` : null;
  if (why) {
    process.stdout.write(`compare-vol3-analyze: skipped (${why})\n`);
    return 0;
  }
  const builds = arg('builds', '17763,19041,22000').split(',').map(Number);
  const forms = arg('forms', 'full,bitmap,raw').split(',') as Form[];
  const scenarios = arg('scenarios', 'vsm-credential-guard,list-bad-flink,hostile-names').split(',');
  const size = parseSize(arg('size', '32MiB'));
  const keep = process.argv.includes('--keep') ? arg('keep', '') : '';
  const dir = keep || mkdtempSync(join(tmpdir(), 'vsm-vol3-analyze-'));
  mkdirSync(dir, { recursive: true });
  const jobs: { label: string; dump: string }[] = [];
  for (const scenario of scenarios) {
    // The main scenario on each requested build; the others on their own kernel.
    const kernels = scenario === 'vsm-credential-guard' ? builds.map((b) => KNOWN_KERNELS.filter((k) => k.build === b).at(-1)!.guidAge) : [undefined];
    for (const isf of kernels)
      for (const form of forms) {
        const dump = join(dir, `${scenario}-${isf ?? 'default'}-${form}.dmp`);
        const g = generate({ scenario, isf, form, sizeBytes: size, out: dump, seed: 1 });
        jobs.push({ label: `${scenario} build ${g.truth.build} ${form}`, dump });
      }
  }
  let failed = 0;
  const lines: string[] = [];
  const work = async (j: (typeof jobs)[number]) => {
    const [pl, ps, mine] = await Promise.all([vol(j.dump, 'windows.pslist'), vol(j.dump, 'windows.psscan'), ours(j.dump)]);
    const problems: string[] = [];
    const notes: string[] = [];
    if (typeof mine === 'string') problems.push(`analyze failed: ${mine}`);
    if (typeof pl === 'string') problems.push(`pslist failed: ${pl}`);
    if (typeof ps === 'string') problems.push(`psscan failed: ${ps}`);
    const procs = typeof mine === 'string' ? [] : mine.processes;
    if (typeof mine !== 'string') {
      const broken = mine.findings.some((f) => /^ntos\.list-(bad-link|cycle|unreadable)$/.test(f.rule));
      if (typeof pl !== 'string') problems.push(...compare('pslist', pl, procs, broken, notes));
      if (typeof ps !== 'string') problems.push(...compare('psscan', ps, procs, broken, notes));
    }
    const n = (x: unknown) => (Array.isArray(x) ? x.length : '-');
    const line = `${problems.length ? 'DIFF' : 'same'}  ${j.label.padEnd(44)} pslist ${n(pl)}/${procs.filter((p) => p.sources.includes('list')).length}  psscan ${n(ps)}/${procs.filter((p) => p.sources.includes('scan')).length}`;
    lines.push([line, ...problems.map((p) => `      ${p}`), ...notes.map((p) => `      note: ${p}`)].join('\n'));
    process.stdout.write(lines[lines.length - 1] + '\n');
    if (problems.length) failed++;
  };
  const queue = [...jobs];
  await Promise.all(Array.from({ length: Math.max(1, JOBS) }, async () => {
    for (let j = queue.shift(); j; j = queue.shift()) await work(j);
  }));
  process.stdout.write(`compare-vol3-analyze: ${jobs.length - failed} of ${jobs.length} dumps agree (Volatility 3 pslist/psscan vs analyze: PID, PPID, name, create/exit time, offset)\n`);
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return failed ? 1 : 0;
}

process.exitCode = await main();
