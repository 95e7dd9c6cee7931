// How the built package starts the CLI fast. `npm run build` (scripts/build.mjs) bundles src/cli.ts
// and everything it loads into one CommonJS file, dist/src/cli.cjs, and ships beside it a V8 code
// cache made by running the bundle at build time (dist/src/cli.cjs.cache): compiled here from that
// cache, the CLI's functions need neither parsing nor bytecode generation at start-up. The cache is
// only ever read at run time (never written to the user's disk); a cache made by another Node/V8
// version, or under other V8 flags, is rejected by V8 and the bundle is compiled from source as if
// there were none; a cache made from other bundle bytes (its first 32 bytes are the SHA-256 of the
// bundle it was made from) is not used at all. From src/ (tests, tsx) there is no bundle beside
// this module, and the caller imports src/cli.ts instead.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

/** The bundle and its code cache, beside this module in dist/src/. */
export const BUNDLE_NAME = 'cli.cjs';
export const CODE_CACHE_NAME = 'cli.cjs.cache';
/** The cache file starts with the SHA-256 of the bundle it was made from, then V8's data. */
const EXPECTED_DIGEST_BYTES = 32;
/** The CommonJS module wrapper: the bundle is compiled as the body of this function. */
const WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAPPER_TAIL = '\n})';

export type CodeCacheState = 'accepted' | 'rejected-by-v8' | 'other-bundle' | 'none';

export interface CompiledBundle<T> {
  readonly exports: T;
  readonly cache: CodeCacheState;
  /** Writes a code cache of everything compiled so far (the build's training run only). */
  readonly writeCodeCache: (path?: string) => number;
}

function readOptional(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Loads dist/src/cli.cjs (or another bundle `name` beside this module), compiled from its code
 * cache when the cache was made from these bundle bytes; undefined when there is no bundle here
 * (running from src/).
 */
export function loadCompiledBundle<T>(dir: URL = new URL('.', import.meta.url), name = BUNDLE_NAME, cacheName = CODE_CACHE_NAME): CompiledBundle<T> | undefined {
  const file = fileURLToPath(new URL(name, dir));
  const bytes = readOptional(file);
  if (!bytes) return undefined;
  const digest = createHash('sha256').update(bytes).digest();
  const cacheFile = fileURLToPath(new URL(cacheName, dir));
  const stored = readOptional(cacheFile);
  let cachedData: Buffer | undefined;
  let cache: CodeCacheState = 'none';
  if (stored && stored.length > EXPECTED_DIGEST_BYTES) {
    if (stored.subarray(0, EXPECTED_DIGEST_BYTES).equals(digest)) cachedData = stored.subarray(EXPECTED_DIGEST_BYTES);
    else cache = 'other-bundle';
  }
  const script = new vm.Script(WRAPPER_HEAD + bytes.toString('latin1') + WRAPPER_TAIL, { filename: file, cachedData });
  if (cachedData) cache = script.cachedDataRejected ? 'rejected-by-v8' : 'accepted';
  const module = { exports: {} as T };
  const fn = script.runInThisContext() as (e: T, r: NodeJS.Require, m: { exports: T }, f: string, d: string) => void;
  fn(module.exports, createRequire(file), module, file, dirname(file));
  return {
    exports: module.exports,
    cache,
    writeCodeCache: (path = cacheFile) => {
      const data = Buffer.concat([digest, script.createCachedData()]);
      writeFileSync(path, data);
      return data.length;
    },
  };
}
