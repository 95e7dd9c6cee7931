#!/usr/bin/env node
// `npm run build` (also run by `prepare` in a clone and by `prepack`): compiles src/ and samples/
// to dist/ with tsc (tsconfig.build.json rewrites the `.ts` import extensions to `.js`), then copies
// every non-TypeScript file beside them (the layout table, the report schema, orphan-guard.mjs,
// scenario JSON, shipped ISF files and notices), so each module finds its data at the same relative
// URL in dist/ as in src/. Plain JavaScript: it runs before anything is built.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
/** Source trees compiled into dist/ (tsconfig.build.json `include` names the same two). */
const TREES = ['src', 'samples'];
/** Files tsc does not emit that the runtime reads: everything but TypeScript sources. */
const isAsset = (name) => !name.endsWith('.ts');

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

// npm runs both `prepack` and `prepare` for `npm pack`/`npm publish`: build once, in prepack.
if (process.argv.includes('--skip-when-packing') && (process.env.npm_command === 'pack' || process.env.npm_command === 'publish')) process.exit(0);

// An installed package ships dist/ already built and no sources: nothing to do.
if (!existsSync(join(ROOT, 'tsconfig.build.json'))) process.exit(0);

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write(`build: tsc failed (exit ${r.status ?? r.signal})\n`);
  process.exit(1);
}
let copied = 0;
for (const tree of TREES) {
  for (const file of walk(join(ROOT, tree))) {
    if (!isAsset(file)) continue;
    const to = join(DIST, relative(ROOT, file));
    cpSync(file, to, { force: true });
    copied++;
  }
}
process.stderr.write(`build: dist/ compiled, ${copied} data files copied\n`);
