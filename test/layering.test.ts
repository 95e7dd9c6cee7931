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
