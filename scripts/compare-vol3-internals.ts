// Runs Volatility 3 (windows.handles, windows.threads, windows.privileges, windows.getsids,
// windows.vadinfo, windows.malfind, windows.pslist) beside `vsm-forensics analyze --json -` on the
// same generated dumps and compares, per process: handles (value, type, granted access, object,
// target), threads (TID, StartAddress, create time), privileges (name and Present/Enabled/Default),
// SIDs (user and groups), VADs (start, end, protection, private, commit, file), malfind's regions
// against our private executable VADs, and pslist's Wow64 column against extendedInfo.isWow64Process.
// Skips (exit 0, one line) where Volatility 3 is absent. Exit 1 when any dump disagrees.
//
//   node --import tsx scripts/compare-vol3-internals.ts [--builds 17763,19041,22000] [--forms full,raw]
//        [--scenarios vsm-trustlet-tampered,vsm-credential-guard] [--size 32MiB] [--keep DIR]
// Env: VOL3 (default /work/vol3/vol.py), PYTHON (default /usr/bin/python3), ISF_DIR (default ../shared/data/isf), PEER_JOBS (default 2).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, parseSize, type Form } from '../samples/generate.ts';
import { KNOWN_KERNELS } from '../samples/kernels.ts';
import { arg, BIN, capture, JOBS, PY, VOL, volRows } from './vol3-peer.ts';
import { listScenarios } from '../samples/scenario.ts';
import type { ProcessRecord } from '../src/vsm/types.ts';

const PLUGINS = ['windows.handles', 'windows.threads', 'windows.privileges', 'windows.getsids', 'windows.vadinfo', 'windows.malfind', 'windows.pslist'] as const;
type Plugin = (typeof PLUGINS)[number];
type Row = Record<string, unknown>;

/** A plugin's rows (its JSON renderer flattens the tree; children, when any, come in `__children`). */
async function vol(dump: string, plugin: Plugin): Promise<Row[] | string> {
  const flat = (rows: Row[]): Row[] => rows.flatMap((r) => [r, ...flat((r.__children as Row[] | undefined) ?? [])]);
  const rows = await volRows<Row>(dump, plugin);
  return typeof rows === 'string' ? rows : flat(rows);
}

async function ours(dump: string): Promise<{ processes: ProcessRecord[] } | string> {
  const out = await capture(process.execPath, [BIN, 'analyze', dump, '--no-hash', '--quiet', '--json', '-'], { env: { ...process.env, VSM_FORENSICS_FROM_SOURCE: '1' } });
  try {
    return JSON.parse(out) as { processes: ProcessRecord[] };
  } catch {
    return out.trim().split('\n').slice(-2).join(' | ');
  }
}

const hx = (v: unknown) => (typeof v === 'number' || typeof v === 'bigint' ? '0x' + BigInt(v).toString(16) : String(v));
const low48 = (h: string | null | undefined) => (h == null ? null : '0x' + (BigInt(h) & 0xffffffffffffn).toString(16));
const sec = (iso: unknown) => (typeof iso === 'string' && iso ? new Date(iso).toISOString().slice(0, 19) : null);

/** Set difference in both directions, as problem lines. */
function diffSets(kind: string, pid: number, vol: Iterable<string>, mine: Iterable<string>, problems: string[]): { same: number } {
  const a = new Set(vol);
  const b = new Set(mine);
  let same = 0;
  for (const x of a) if (b.has(x)) same++;
  const onlyVol = [...a].filter((x) => !b.has(x));
  const onlyMine = [...b].filter((x) => !a.has(x));
  if (onlyVol.length) problems.push(`${kind} pid ${pid}: only Volatility: ${onlyVol.slice(0, 4).join('; ')}${onlyVol.length > 4 ? ` (+${onlyVol.length - 4})` : ''}`);
  if (onlyMine.length) problems.push(`${kind} pid ${pid}: only ours: ${onlyMine.slice(0, 4).join('; ')}${onlyMine.length > 4 ? ` (+${onlyMine.length - 4})` : ''}`);
  return { same };
}

function byPid(rows: Row[]): Map<number, Row[]> {
  const m = new Map<number, Row[]>();
  for (const r of rows) {
    const pid = Number(r.PID);
    m.set(pid, [...(m.get(pid) ?? []), r]);
  }
  return m;
}

/** Volatility's handle Name for a Process/Thread target, built from ours. */
function handleName(h: NonNullable<ProcessRecord['handles']>[number]): string {
  if (h.type === 'Process' && h.target) return `${h.target.name ?? ''} Pid ${h.target.pid ?? ''}`;
  if (h.type === 'Thread' && h.target) return `Tid ${h.target.tid ?? ''} Pid ${h.target.pid ?? ''}`;
  return h.name ?? '';
}

/** "\Device\HarddiskVolume3" before a file name. */
const DEVICE_PREFIX = /^\\Device\\[^\\]+/;

type Compare = (rows: Row[], procs: readonly ProcessRecord[], problems: string[]) => { compared: number; same: number };

const COMPARE: Record<Plugin, Compare> = {
  'windows.handles': (rows, procs, problems) => {
    let compared = 0;
    let same = 0;
    const vol = byPid(rows);
    for (const p of procs) {
      if (!p.handles || !p.sources.includes('list')) continue;
      // Volatility names a File with its device (file_name_with_device); we keep FILE_OBJECT.FileName alone.
      const v = (vol.get(p.pid) ?? []).map((r) => `${hx(r.HandleValue)} ${r.Type} ${hx(r.GrantedAccess)} ${low48(hx(r.Offset))} ${r.Type === 'File' ? String(r.Name ?? '').replace(DEVICE_PREFIX, '') : (r.Name ?? '')}`);
      const m = p.handles.map((h) => `0x${h.handle.toString(16)} ${h.type} 0x${h.grantedAccess.toString(16)} ${low48(h.object)} ${handleName(h)}`);
      compared += Math.max(v.length, m.length);
      same += diffSets('handles', p.pid, v, m, problems).same;
    }
    return { compared, same };
  },
  'windows.threads': (rows, procs, problems) => {
    let compared = 0;
    let same = 0;
    const vol = byPid(rows);
    for (const p of procs) {
      if (!p.threads || !p.sources.includes('list')) continue;
      // Volatility prints kernel addresses masked to 48 bits; compare both that way.
      const v = (vol.get(p.pid) ?? []).map((r) => `${r.TID} ${low48(hx(r.StartAddress))} ${sec(r.CreateTime)}`);
      const m = p.threads.map((t) => `${t.tid} ${low48(t.startAddress ?? '0x0')} ${sec(t.createTime)}`);
      compared += Math.max(v.length, m.length);
      same += diffSets('threads', p.pid, v, m, problems).same;
    }
    return { compared, same };
  },
  'windows.privileges': (rows, procs, problems) => {
    let compared = 0;
    let same = 0;
    const vol = byPid(rows);
    for (const p of procs) {
      if (!p.token || !p.sources.includes('list')) continue;
      const v = (vol.get(p.pid) ?? []).filter((r) => r.Attributes).map((r) => `${r.Privilege} ${r.Attributes}`);
      const m = p.token.privileges.map((x) => `${x.name} ${[x.present ? 'Present' : '', x.enabled ? 'Enabled' : '', x.enabledByDefault ? 'Default' : ''].filter(Boolean).join(',')}`);
      compared += Math.max(v.length, m.length);
      same += diffSets('privileges', p.pid, v, m, problems).same;
    }
    return { compared, same };
  },
  'windows.getsids': (rows, procs, problems) => {
    let compared = 0;
    let same = 0;
    const vol = byPid(rows);
    for (const p of procs) {
      if (!p.token || !p.sources.includes('list')) continue;
      const v = (vol.get(p.pid) ?? []).map((r) => String(r.SID));
      const m = [...(p.token.user ? [p.token.user.sid] : []), ...p.token.groups.map((g) => g.sid), ...(p.token.integrity ? [p.token.integrity.sid] : [])];
      compared += Math.max(new Set(v).size, new Set(m).size);
      same += diffSets('sids', p.pid, v, m, problems).same;
    }
    return { compared, same };
  },
  'windows.vadinfo': (rows, procs, problems) => {
    let compared = 0;
    let same = 0;
    const vol = byPid(rows);
    for (const p of procs) {
      if (!p.vads || !p.sources.includes('list')) continue;
      const v = (vol.get(p.pid) ?? []).map((r) => `${hx(r['Start VPN'])}-${hx(r['End VPN'])} ${r.Protection} private=${r.PrivateMemory} commit=${r.CommitCharge} ${r.File && r.File !== 'N/A' ? r.File : '-'}`);
      const m = p.vads.map((x) => `${x.start}-${x.end} ${x.protection} private=${x.private ? 1 : 0} commit=${x.commit} ${x.file ?? '-'}`);
      compared += Math.max(v.length, m.length);
      same += diffSets('vads', p.pid, v, m, problems).same;
    }
    return { compared, same };
  },
  // malfind: write+execute private (VadS) or mapped non-WRITECOPY regions that are not empty; ours: every
  // private executable VAD. Every malfind region must be one of ours; ours may have more (read-execute, empty).
  'windows.malfind': (rows, procs, problems) => {
    let compared = 0;
    let same = 0;
    for (const r of rows) {
      compared++;
      const p = procs.find((x) => x.pid === Number(r.PID) && x.sources.includes('list'));
      const start = hx(r['Start VPN']);
      if (p?.vads?.some((v) => v.start === start && v.protection?.includes('EXECUTE'))) same++;
      else problems.push(`malfind pid ${r.PID}: region ${start} (${r.Protection}) is not an executable VAD of ours`);
    }
    return { compared, same };
  },
  'windows.pslist': (rows, procs, problems) => {
    let compared = 0;
    let same = 0;
    for (const r of rows) {
      const p = procs.find((x) => x.pid === Number(r.PID) && x.sources.includes('list'));
      if (!p?.extendedInfo) continue;
      compared++;
      if (p.extendedInfo.isWow64Process === r.Wow64) same++;
      else problems.push(`pslist pid ${r.PID}: Wow64 ${r.Wow64} vs isWow64Process ${p.extendedInfo.isWow64Process}`);
    }
    return { compared, same };
  },
};

async function main(): Promise<number> {
  const why = !existsSync(VOL) ? `no Volatility 3 at ${VOL}` : spawnSync(PY, ['-c', 'import pefile'], { encoding: 'utf8' }).status !== 0 ? `${PY} cannot import pefile` : null;
  if (why) {
    process.stdout.write(`compare-vol3-internals: skipped (${why})\n`);
    return 0;
  }
  const builds = arg('builds', '17763,19041,22000').split(',').map(Number);
  const forms = arg('forms', 'full,raw').split(',') as Form[];
  const known = new Set(listScenarios());
  const scenarios = arg('scenarios', 'vsm-trustlet-tampered,vsm-credential-guard')
    .split(',')
    .filter((s) => known.has(s));
  const size = parseSize(arg('size', '32MiB'));
  const keep = process.argv.includes('--keep') ? arg('keep', '') : '';
  const dir = keep || mkdtempSync(join(tmpdir(), 'vsm-vol3-internals-'));
  mkdirSync(dir, { recursive: true });
  const jobs: { label: string; dump: string }[] = [];
  for (const scenario of scenarios)
    for (const b of builds) {
      const isf = KNOWN_KERNELS.filter((k) => k.build === b).at(-1)?.guidAge;
      if (!isf) continue;
      for (const form of forms) {
        const dump = join(dir, `${scenario}-${isf}-${form}.dmp`);
        const g = generate({ scenario, isf, form, sizeBytes: size, out: dump, seed: 1 });
        jobs.push({ label: `${scenario} build ${g.truth.build} ${form}`, dump });
      }
    }
  let failed = 0;
  const totals = Object.fromEntries(PLUGINS.map((p) => [p, { compared: 0, same: 0 }])) as Record<Plugin, { compared: number; same: number }>;
  const work = async (j: (typeof jobs)[number]) => {
    const mine = await ours(j.dump);
    const problems: string[] = [];
    const cells: string[] = [];
    if (typeof mine === 'string') problems.push(`analyze failed: ${mine}`);
    for (const plugin of PLUGINS) {
      const rows = await vol(j.dump, plugin);
      if (typeof rows === 'string') {
        problems.push(`${plugin} failed: ${rows}`);
        cells.push(`${plugin.slice(8)} -`);
        continue;
      }
      if (typeof mine === 'string') continue;
      const r = COMPARE[plugin](rows, mine.processes, problems);
      totals[plugin].compared += r.compared;
      totals[plugin].same += r.same;
      cells.push(`${plugin.slice(8)} ${r.same}/${r.compared}`);
    }
    process.stdout.write([`${problems.length ? 'DIFF' : 'same'}  ${j.label.padEnd(42)} ${cells.join('  ')}`, ...problems.map((p) => `      ${p}`)].join('\n') + '\n');
    if (problems.length) failed++;
  };
  const queue = [...jobs];
  await Promise.all(
    Array.from({ length: Math.max(1, JOBS) }, async () => {
      for (let j = queue.shift(); j; j = queue.shift()) await work(j);
    }),
  );
  process.stdout.write(`compare-vol3-internals: ${jobs.length - failed} of ${jobs.length} dumps agree; rows equal/compared: ${PLUGINS.map((p) => `${p.slice(8)} ${totals[p].same}/${totals[p].compared}`).join(', ')}\n`);
  if (!keep) rmSync(dir, { recursive: true, force: true });
  return failed ? 1 : 0;
}

process.exitCode = await main();
