// What start-up relies on: the built CLI is compiled from a shipped V8 code cache only when that
// cache was made from the very bundle beside it (another bundle's cache is ignored, another V8's
// is rejected by V8, and either way the bundle still runs); and yargs no longer formats the whole
// help screen after every command (the internal hook src/cli.ts turns off is still there).
import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import yargs from 'yargs';
import { createRequire } from 'node:module';
import { CODE_CACHE_HEADER_BYTES, frameBundle, loadCompiledBundle } from '../src/compiled-cli.ts';
import { main, skipHelpCaching } from '../src/cli.ts';
import { runDir } from './helpers/run-dir.ts';

const TMP = runDir('cli-startup');

/** A small CommonJS bundle in its own directory, framed as dist/src/cli.cjs is. */
function bundleDir(name: string, source: string): URL {
  const dir = join(TMP, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cli.cjs'), frameBundle(source));
  return pathToFileURL(`${dir}/`);
}

const SOURCE = "'use strict';\nfunction twice(x) { return 2 * x; }\nmodule.exports = { answer: twice(21), file: __filename, dir: __dirname, req: typeof require('node:path').join };\n";

test('no bundle beside the loader (running from src/): undefined', (t) => {
  t.is(loadCompiledBundle(pathToFileURL(`${join(TMP, 'nothing-here')}/`)), undefined);
});

const CHILD = fileURLToPath(new URL('./helpers/load-bundle-child.ts', import.meta.url));

/** Loads the bundle in a fresh Node (V8 keeps compiled scripts per process: a reload here would never read the cache). */
function loadInChild(dir: URL, write = false): { cache: string; answer: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, dir.href, ...(write ? ['--write'] : [])], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { cache: string; answer: number };
}

test('the bundle runs as a CommonJS module (its own __filename, __dirname, require)', (t) => {
  const dir = bundleDir('module', SOURCE);
  const loaded = loadCompiledBundle<{ answer: number; file: string; dir: string; req: string }>(dir)!;
  t.is(loaded.cache, 'none');
  t.is(loaded.exports.answer, 42);
  t.is(loaded.exports.file, join(TMP, 'module', 'cli.cjs'));
  t.is(loaded.exports.dir, join(TMP, 'module'));
  t.is(loaded.exports.req, 'function');
});

test('the framed bundle is still a CommonJS module to Node\'s own loader; an unframed file is refused by name', (t) => {
  const dir = bundleDir('required', SOURCE);
  const required = createRequire(import.meta.url)(fileURLToPath(new URL('cli.cjs', dir))) as { answer: number; file: string };
  t.is(required.answer, 42);
  t.is(required.file, join(TMP, 'required', 'cli.cjs'));
  const plain = join(TMP, 'plain');
  mkdirSync(plain, { recursive: true });
  writeFileSync(join(plain, 'cli.cjs'), SOURCE);
  t.throws(() => loadCompiledBundle(pathToFileURL(`${plain}/`)), { message: /is not a framed bundle/ });
});

test('a code cache written after a run is accepted by the next Node', (t) => {
  const dir = bundleDir('fresh', SOURCE);
  t.deepEqual(loadInChild(dir, true), { cache: 'none', answer: 42 });
  t.true(readFileSync(new URL('cli.cjs.cache', dir)).length > 32);
  t.deepEqual(loadInChild(dir), { cache: 'accepted', answer: 42 });
});

for (const check of ['CRC-32', 'SHA-256 (a Node without zlib.crc32 made the cache)']) {
  test(`a cache made from other bundle bytes is not used, even when V8 would take it (same length); by ${check}`, (t) => {
    const dir = bundleDir(`other-bundle-${check.slice(0, 3)}`, SOURCE);
    loadInChild(dir, true);
    const cacheFile = new URL('cli.cjs.cache', dir);
    if (check.startsWith('SHA')) {
      const bytes = readFileSync(cacheFile);
      bytes.writeUInt32LE(0, 32); // the CRC-32 bytes, left as a build without zlib.crc32 leaves them
      bytes.writeUInt32LE(0, 36);
      writeFileSync(cacheFile, bytes);
    }
    t.deepEqual(loadInChild(dir), { cache: 'accepted', answer: 42 });
    // Same length, other code: V8 itself checks only the length, so the header must catch it.
    const changed = SOURCE.replace('2 * x', '3 * x');
    t.is(changed.length, SOURCE.length);
    writeFileSync(new URL('cli.cjs', dir), frameBundle(changed));
    t.deepEqual(loadInChild(dir), { cache: 'other-bundle', answer: 63 });
  });
}

test('a cache V8 cannot use (another Node, damaged) is rejected and the bundle still runs', (t) => {
  const dir = bundleDir('damaged', SOURCE);
  loadInChild(dir, true);
  const cacheFile = new URL('cli.cjs.cache', dir);
  const bytes = readFileSync(cacheFile);
  // Keep our header, garble V8's (its magic number and version hash).
  for (let i = CODE_CACHE_HEADER_BYTES; i < CODE_CACHE_HEADER_BYTES + 16; i++) bytes[i] ^= 0xff;
  writeFileSync(cacheFile, bytes);
  t.deepEqual(loadInChild(dir), { cache: 'rejected-by-v8', answer: 42 });
});

test('yargs still has the help-caching hook the CLI turns off, and help is still printed when asked', async (t) => {
  t.true(skipHelpCaching(yargs([]) as never));
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => (out.push(String(chunk)), true)) as typeof process.stdout.write;
  let code: number;
  try {
    code = await main(['info', '--help']);
  } finally {
    process.stdout.write = write;
  }
  t.is(code, 0);
  t.regex(out.join(''), /vsm-forensics info <dump>[\s\S]*Options:/);
});

test('yargs speaks English whatever LANG says (its messages are what the usage errors are made from)', (t) => {
  const bin = fileURLToPath(new URL('../bin/vsm-forensics.js', import.meta.url));
  const r = spawnSync(process.execPath, [bin, 'analyze', 'no-such.dmp', '--fail-on', 'hgh'], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, LANG: 'de_DE.UTF-8', LC_ALL: 'de_DE.UTF-8', NO_COLOR: '1' },
  });
  t.is(r.status, 64, r.stderr);
  t.is(r.stderr.split('\n')[0], 'vsm-forensics: --fail-on "hgh" is not one of "info", "low", "medium", "high", "critical"; did you mean high?');
});
