// Records what LLVM's llvm-pdbutil says about the Microsoft-written PDBs in ../shared/data/real,
// for test/pdb-msvc.test.ts. The PDBs themselves stay in ../shared (no license to copy them); we
// keep llvm-pdbutil's text: whole for minimal.pdb, and for exceptions-test.pdb the summary, the
// publics, the section headers, every structure/class/union/enum record, and the field lists
// (plus their bitfield and array records) of a deterministic sample of structures.
// Run: node --import tsx scripts/pdb-ms-samples.ts   (needs llvm-pdbutil on PATH)
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const REAL = new URL('../../shared/data/real/', import.meta.url).pathname;
const OUT = new URL('../test/fixtures/pdb/ms/', import.meta.url).pathname;
const PDBUTIL = process.env.PDBUTIL ?? 'llvm-pdbutil';
const SAMPLE_UDTS = 60;

function dump(pdb: string): string {
  return execFileSync(PDBUTIL, ['dump', '-summary', '-types', '-publics', '-section-headers', REAL + pdb], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

/** Splits the Types section into records (header line + indented detail lines). */
function sample(text: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'Types (TPI Stream)');
  let end = lines.findIndex((l, i) => i > start && /^\s+[A-Z][A-Za-z ]+$/.test(l) && lines[i + 1]?.startsWith('====='));
  if (end < 0) end = lines.length;
  const records: { ti: number; leaf: string; lines: string[] }[] = [];
  const head: string[] = [];
  for (let i = start; i < end; i++) {
    const m = lines[i].match(/^\s+0x([0-9A-F]+) \| (LF_[A-Z0-9_]+) /);
    if (m) records.push({ ti: parseInt(m[1], 16), leaf: m[2], lines: [lines[i]] });
    else if (records.length) records[records.length - 1].lines.push(lines[i]);
    else head.push(lines[i]);
  }
  const byTi = new Map(records.map((r) => [r.ti, r]));
  const keep = new Set<number>();
  const udts = records.filter((r) => ['LF_STRUCTURE', 'LF_CLASS', 'LF_UNION', 'LF_ENUM'].includes(r.leaf));
  for (const r of udts) keep.add(r.ti);
  // Every 5th complete structure/class/union, up to SAMPLE_UDTS of them: its field lists and members' records.
  const complete = udts.filter((r) => r.leaf !== 'LF_ENUM' && !r.lines.some((l) => l.includes('forward ref')));
  const chosen = complete.filter((_r, i) => i % 5 === 0).slice(0, SAMPLE_UDTS);
  for (const r of chosen) {
    let fl = r.lines.join('\n').match(/field list: 0x([0-9A-F]+)/)?.[1];
    const seen = new Set<number>();
    while (fl && !seen.has(parseInt(fl, 16))) {
      const ti = parseInt(fl, 16);
      seen.add(ti);
      keep.add(ti);
      const rec = byTi.get(ti);
      fl = undefined;
      for (const l of rec?.lines ?? []) {
        const t = l.match(/LF_MEMBER .*Type = 0x([0-9A-F]+)/);
        if (t) {
          const target = byTi.get(parseInt(t[1], 16));
          if (target && (target.leaf === 'LF_BITFIELD' || target.leaf === 'LF_ARRAY')) keep.add(target.ti);
        }
        const c = l.match(/LF_INDEX continuation = 0x([0-9A-F]+)/);
        if (c) fl = c[1];
      }
    }
  }
  const kept = records.filter((r) => keep.has(r.ti)).flatMap((r) => r.lines);
  return [...lines.slice(0, start), ...head, ...kept, ...lines.slice(end)].join('\n');
}

const ex = dump('exceptions-test.pdb');
writeFileSync(OUT + 'exceptions-test.pdbutil-sample.txt', sample(ex));
writeFileSync(OUT + 'minimal.pdbutil.txt', dump('minimal.pdb'));
console.log('wrote', OUT);
