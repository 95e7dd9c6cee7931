// The design card: data flows one way, dump → ntos → vsm → reports. A lower layer never imports
// a higher one; only the commands (and the CLI) wire layers together.
import test from 'ava';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const RANK: Record<string, number> = { dump: 0, ntos: 1, vsm: 2, reports: 3 };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|mts|mjs|js)$/.test(n) ? [p] : [];
  });
}

function layerOf(path: string): string | undefined {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return relative(ROOT, path).split(/[\\/]/)[0]; // samples, test, …
  const top = rel.split(/[\\/]/)[0];
  return top in RANK ? top : top.replace(/\.ts$/, '');
}

const IMPORT = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

test('no layer imports a higher one, and analysis never imports samples or commands', (t) => {
  const violations: string[] = [];
  const all = files(SRC);
  t.true(all.length > 20, 'found the sources');
  for (const file of all) {
    const from = layerOf(file)!;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) continue;
      const to = layerOf(resolve(dirname(file), spec))!;
      const fromRank = RANK[from];
      const toRank = RANK[to];
      if (fromRank !== undefined && toRank !== undefined && toRank > fromRank) violations.push(`${relative(ROOT, file)} → ${spec}`);
      if (fromRank !== undefined && (to === 'samples' || to === 'commands' || to === 'cli')) violations.push(`${relative(ROOT, file)} → ${spec}`);
    }
  }
  t.deepEqual(violations, []);
});

// Only src/dump touches the evidence file. Above it, the file system is read only for what is not
// evidence, each allowed here by name with the reason; anything else reaching for node:fs is a
// side channel around the Dump object (as ntos/kernel.ts once reopened the dump for triage data).
const FS_ALLOWED: Record<string, string> = {
  'src/ntos/isf.ts': 'reads ISF symbol files (.json/.json.xz/.json.gz) named by --symbols or the symbol store',
  'src/ntos/symbol-store.ts': 'finds and caches symbol files (PDB/ISF) in _NT_SYMBOL_PATH directories and the cache',
  'src/ntos/pdb/index.ts': 'reads PDB symbol files',
  'src/ntos/isf-write.ts': 'writes the ISF converted from a PDB into the symbol cache',
  'src/ntos/layout-table.ts': 'reads the built-in layout table (src/ntos/data/layouts.json) shipped with the tool',
  'src/reports/validate.ts': 'reads the report JSON schema shipped with the tool',
};
const FS_IMPORT = /(?:import|export)\s[^'"]*?from\s*['"](?:node:)?fs(?:\/promises)?['"]|import\(\s*['"](?:node:)?fs(?:\/promises)?['"]\s*\)|require\(\s*['"](?:node:)?fs(?:\/promises)?['"]\s*\)/;

test('above src/dump, node:fs is imported only by the modules that read symbol files or shipped data', (t) => {
  const offenders: string[] = [];
  for (const file of files(SRC)) {
    const layer = layerOf(file)!;
    if (RANK[layer] === undefined || RANK[layer] === 0) continue;
    const rel = relative(ROOT, file).split(/[\\/]/).join('/');
    if (FS_IMPORT.test(readFileSync(file, 'utf8')) && !(rel in FS_ALLOWED)) offenders.push(rel);
  }
  t.deepEqual(offenders, []);
  // The allow-list names files that exist and do import node:fs (no stale exemptions).
  for (const rel of Object.keys(FS_ALLOWED)) t.true(FS_IMPORT.test(readFileSync(join(ROOT, rel), 'utf8')), `${rel} is allowed node:fs but does not import it`);
});

test('above src/dump, nothing opens evidence: no import of the evidence file or openDump', (t) => {
  const offenders: string[] = [];
  for (const file of files(SRC)) {
    const layer = layerOf(file)!;
    if (RANK[layer] === undefined || RANK[layer] === 0) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (/\/dump\/(evidence-file|open)\.ts$/.test(spec)) offenders.push(`${relative(ROOT, file)} → ${spec}`);
    }
  }
  t.deepEqual(offenders, []);
});
