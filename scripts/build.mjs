#!/usr/bin/env node
// `npm run build` (also run by `prepare` in a clone and by `prepack`). Start-up cost is mostly
// loading code, so the CLI ships as few files as possible, compiled from a V8 code cache:
//   1. type-check src/ and samples/ (tsc, tsconfig.build.json; nothing emitted);
//   2. bundle with esbuild: dist/src/main.js (the entry: `--version` answered there, CommonJS) and
//      dist/src/cli.cjs (the CLI and every command, with the libraries they use, in one CommonJS
//      file: each module runs only when its command needs it). Queue clients (bullmq, ioredis)
//      and the native LZMA binding stay in node_modules. Each module's `import.meta.url` is the URL
//      it would have as dist/<its path>.js, so it finds its data files at the same relative URL
//      as from src/;
//   3. copy every non-TypeScript file of src/ and samples/ beside where its module would be (the
//      layout table, the report schema, orphan-guard.mjs, scenarios, shipped ISF files, notices);
//   4. make the code cache: a small synthetic dump is generated, then a fresh Node loads the
//      bundle, runs list-only and whole analyses of it and writes what V8 compiled to
//      dist/src/cli.cjs.cache (see src/compiled-cli.ts for how it is checked and used).
// Plain JavaScript: it runs before anything is built.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const DIST_SRC = join(DIST, 'src');
/** Source trees whose data files go to dist/ (tsconfig.build.json `include` names the same two). */
const TREES = ['src', 'samples'];
/** Files the runtime reads beside the code: everything but TypeScript sources. */
const isAsset = (name) => !name.endsWith('.ts');
/** Left in node_modules: loaded only by `queue`/`worker` (large), only for logs on a terminal (pino-pretty), or native code. */
const EXTERNAL = ['bullmq', 'ioredis', '@napi-rs/lzma', 'pino-pretty'];
/** What the code-cache training run analyzes: a small dump, list-only and whole. */
const TRAINING_DUMP_SIZE = '16MiB';
const trainingRuns = (dump) => [
  ['analyze', dump, '--no-scan', '--no-hash', '--quiet'],
  ['analyze', dump, '--quiet'],
];

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** A child Node with no inherited V8 flags or loaders (the code cache must match a user's plain `node`). */
function node(args, opts = {}) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.VSM_FORENSICS_FROM_SOURCE;
  return spawnSync(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'], ...opts });
}

function fail(message) {
  process.stderr.write(`build: ${message}\n`);
  process.exit(1);
}

/** The training run (a child of the build): loads the bundle, runs the training commands, writes the cache. */
async function trainCodeCache(dump) {
  // V8 drops the bytecode of functions that ran long ago (module bodies, the bundle's top level)
  // during the training's garbage collections: keep it all until the cache is written. The flag
  // is restored before writing, so the cache carries the flag hash of a plain `node`.
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--no-flush-bytecode');
  const { loadCompiledBundle } = await import(pathToFileURL(join(DIST_SRC, 'compiled-cli.js')).href);
  const bundle = loadCompiledBundle(pathToFileURL(`${DIST_SRC}/`));
  if (bundle.cache !== 'none') fail(`training expected no code cache yet, found one (${bundle.cache})`);
  for (const args of trainingRuns(dump)) {
    const code = await bundle.exports.main(args);
    if (code !== 0) fail(`training run \`${args.join(' ')}\` exited ${code}`);
  }
  v8.setFlagsFromString('--flush-bytecode');
  const bytes = bundle.writeCodeCache();
  process.stderr.write(`build: code cache ${(bytes / 2 ** 20).toFixed(1)} MiB\n`);
}

if (process.argv[2] === '--train-code-cache') {
  await trainCodeCache(process.argv[3]);
  process.exit(0);
}

// npm runs both `prepack` and `prepare` for `npm pack`/`npm publish`: build once, in prepack.
if (process.argv.includes('--skip-when-packing') && (process.env.npm_command === 'pack' || process.env.npm_command === 'publish')) process.exit(0);

// An installed package ships dist/ already built and no sources: nothing to do.
if (!existsSync(join(ROOT, 'tsconfig.build.json'))) process.exit(0);

// 1. Type-check.
const require = createRequire(import.meta.url);
const tsc = node([require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) fail(`tsc failed (exit ${tsc.status ?? tsc.signal})`);

// 2. Bundle.
rmSync(DIST, { recursive: true, force: true });
const esbuild = await import('esbuild');

/** `import.meta.url` of a source file as it would be in dist/ (relative to dist/src/, where both bundles are). */
const moduleUrls = {
  name: 'dist-module-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      const rel = relative(ROOT, args.path);
      if (!rel.startsWith('..') && text.includes('import.meta')) {
        const fromDistSrc = relative(DIST_SRC, join(DIST, rel.replace(/\.ts$/, '.js'))).split('\\').join('/');
        text = text.replaceAll('import.meta.url', `__vsm_module_url(${JSON.stringify(fromDistSrc)})`);
        // Reached only when running from source (src/batch/analyzer.ts resolves tsx for its children).
        text = text.replaceAll('import.meta.resolve(', '__vsm_import_meta_resolve(');
      }
      return { contents: text, loader: 'ts' };
    });
  },
};
/**
 * string-width (the help layout of yargs and cliui) builds an Intl.Segmenter (ICU break-iterator
 * data) and \p{RGI_Emoji}-class regular expressions when it is loaded: ~40 ms of every start-up,
 * though only help screens measure text. Every `import stringWidth from 'string-width'` gets a
 * stand-in that loads the real module on its first call (the bundle then evaluates it there).
 */
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(build) {
    build.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const real = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { real: true } });
      if (real.errors.length) return { errors: real.errors };
      return { path: real.path, namespace: 'lazy-string-width' };
    });
    build.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      contents: `export default function stringWidth(string, options) { return require(${JSON.stringify(args.path)}).default(string, options); }\n`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};
/**
 * yargs' platform shim imports node:assert (~10 ms to load) for two invariant checks it makes on
 * every parse. The bundle gets a stand-in with the same two functions: each compares as the real
 * one does (Object.is) and calls the real one, loading node:assert, only when the check fails, so a
 * failing check still throws Node's own AssertionError.
 */
const lazyAssert = {
  name: 'lazy-assert',
  setup(build) {
    build.onResolve({ filter: /^assert$/ }, (args) =>
      /[\\/]node_modules[\\/]yargs[\\/]/.test(args.importer) ? { path: 'assert', namespace: 'lazy-assert' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({
      contents: [
        "export function strictEqual(actual, expected, message) { if (!Object.is(actual, expected)) require('node:assert').strictEqual(actual, expected, message); }",
        "export function notStrictEqual(actual, expected, message) { if (Object.is(actual, expected)) require('node:assert').notStrictEqual(actual, expected, message); }",
        '',
      ].join('\n'),
      loader: 'js',
    }));
  },
};
/**
 * main.js stays small (`--version` loads nothing else): it imports the loader, compiled-cli.js,
 * only to run a command; its source-mode fallback `import('./cli.ts')` names the bundle (never
 * reached: the bundle is there).
 */
const mainImports = {
  name: 'main-imports',
  setup(build) {
    build.onResolve({ filter: /^\.\/cli\.ts$/ }, () => ({ path: './cli.cjs', external: true }));
    build.onResolve({ filter: /^\.\/compiled-cli\.ts$/ }, () => ({ path: './compiled-cli.js', external: true }));
  },
};
const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', legalComments: 'none' };
// The banner is text esbuild does not read: it cannot know that the bundle's own top-level names
// must not be __dirname or __filename (yargs declares a `var __dirname` at top level, which is the
// module function's parameter, reassigned when yargs loads). So the banner takes both values
// first, under names of its own.
const CJS_BANNER = [
  'var __vsm_dirname = __dirname;',
  "var __vsm_bundle_url = require('node:url').pathToFileURL(__filename).href;",
  "var __vsm_module_url = (rel) => require('node:url').pathToFileURL(require('node:path').join(__vsm_dirname, rel)).href;",
  "var __vsm_import_meta_resolve = (spec) => require('node:url').pathToFileURL(require.resolve(spec)).href;",
].join('\n');
try {
  // The entry and the loader are CommonJS: an ESM entry starts Node's ESM loader (~15 ms).
  // dist/src/package.json (written below) says so for the .js files beside it.
  for (const [entry, out, plugins] of [['src/main.ts', 'main.js', [mainImports]], ['src/compiled-cli.ts', 'compiled-cli.js', []]]) {
    await esbuild.build({
      ...common,
      entryPoints: [join(ROOT, entry)],
      outfile: join(DIST_SRC, out),
      format: 'cjs',
      plugins,
      packages: 'external',
      define: { 'import.meta.url': '__vsm_file_url' },
      banner: { js: "var __vsm_file_url = require('node:url').pathToFileURL(__filename).href;" },
      supported: { 'dynamic-import': false },
    });
  }
  writeFileSync(join(DIST_SRC, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  await esbuild.build({
    ...common,
    entryPoints: [join(ROOT, 'src/cli.ts')],
    outfile: join(DIST_SRC, 'cli.cjs'),
    format: 'cjs',
    external: EXTERNAL,
    // Libraries' own import.meta.url (yargs-parser's createRequire): the bundle's URL.
    define: { 'import.meta.url': '__vsm_bundle_url' },
    // import() of what stays in node_modules (pino-pretty) becomes require(): the bundle runs as a
    // vm.Script, which has no module loader for import().
    supported: { 'dynamic-import': false },
    banner: { js: CJS_BANNER },
    plugins: [moduleUrls, lazyStringWidth, lazyAssert],
  });
} catch (e) {
  fail(`esbuild failed: ${e.message.split('\n')[0]}`);
}
if (/\bimport\(/.test(readFileSync(join(DIST_SRC, 'cli.cjs'), 'utf8'))) fail('dist/src/cli.cjs has an import(): a vm.Script cannot load modules that way');
// The loader reads the bundle as Latin-1 (one byte a character: the fastest string V8 makes), so
// it must be ASCII. esbuild escapes every non-ASCII character in code (charset ascii); the few it
// leaves are in comments, escaped here the same way.
// Then it is framed to compile as it is (src/compiled-cli.ts frameBundle).
const bundleFile = join(DIST_SRC, 'cli.cjs');
const { frameBundle } = await import(pathToFileURL(join(DIST_SRC, 'compiled-cli.js')).href);
writeFileSync(bundleFile, frameBundle(readFileSync(bundleFile, 'utf8').replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`)));

// 3. Data files.
let copied = 0;
for (const tree of TREES) {
  for (const file of walk(join(ROOT, tree))) {
    if (!isAsset(file)) continue;
    cpSync(file, join(DIST, relative(ROOT, file)), { force: true });
    copied++;
  }
}

// 4. Code cache.
const scratch = mkdtempSync(join(tmpdir(), 'vsm-build-'));
try {
  const dump = join(scratch, 'training.dmp');
  const synth = node([join(DIST_SRC, 'main.js'), 'synth', '--size', TRAINING_DUMP_SIZE, '-o', dump, '--quiet']);
  if (synth.status !== 0) fail(`generating the training dump failed (exit ${synth.status ?? synth.signal})`);
  const train = node([fileURLToPath(import.meta.url), '--train-code-cache', dump], { cwd: scratch });
  if (train.status !== 0) fail(`the code-cache training run failed (exit ${train.status ?? train.signal})`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
// A fresh plain `node` must take the cache (else V8 flags or the loader differ from the training's).
const loader = pathToFileURL(join(DIST_SRC, 'compiled-cli.js')).href;
const check = node(['--input-type=module', '-e', `import { loadCompiledBundle } from ${JSON.stringify(loader)}; process.stdout.write(loadCompiledBundle().cache);`], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (check.stdout !== 'accepted') fail(`the code cache is not used by a fresh node (${check.stdout || `exit ${check.status}`})`);
process.stderr.write(`build: dist/ bundled, ${copied} data files copied\n`);
