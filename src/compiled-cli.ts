// How the built package starts the CLI fast. `npm run build` (scripts/build.mjs) bundles src/cli.ts
// and everything it loads into one CommonJS file, dist/src/cli.cjs, and ships beside it a V8 code
// cache made by running the bundle at build time (dist/src/cli.cjs.cache): compiled here from that
// cache, the CLI's functions need neither parsing nor bytecode generation at start-up. The cache is
// only ever read at run time (never written to the user's disk); a cache made by another Node/V8
// version, or under other V8 flags, is rejected by V8 and the bundle is compiled from source as if
// there were none; a cache made from other bundle bytes (its header holds the CRC-32 and the
// SHA-256 of the bundle it was made from) is not used at all. The check is the CRC-32 where Node
// has zlib.crc32 (20.15+; zlib is loaded by the analysis anyway), else the SHA-256 (node:crypto
// costs ~10 ms to load). From src/ (tests, tsx) there is no bundle beside this module, and the
// caller imports src/cli.ts instead.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { onFirstUse } from './on-first-use.ts';

/** The bundle and its code cache, beside this module in dist/src/. */
export const BUNDLE_NAME = 'cli.cjs';
export const CODE_CACHE_NAME = 'cli.cjs.cache';
/**
 * The cache file's header, then V8's data: the SHA-256 of the bundle it was made from (32 bytes),
 * its CRC-32 (4 bytes, little-endian) and whether that CRC was computed (4 bytes: 1, or 0 when the
 * build's Node had no zlib.crc32).
 */
export const CODE_CACHE_HEADER_BYTES = 40;
const CRC_AT = 32;
const HAS_CRC_AT = 36;

type Crc32 = (data: Buffer) => number;
const zlib = onFirstUse<{ crc32?: Crc32 }>('node:zlib');
const crypto = onFirstUse<typeof import('node:crypto')>('node:crypto');

/** zlib.crc32 where this Node has it (20.15+). */
function crc32(): Crc32 | undefined {
  const f = zlib().crc32;
  return typeof f === 'function' ? f : undefined;
}

function sha256(bytes: Buffer): Buffer {
  return crypto().createHash('sha256').update(bytes).digest();
}

/** The header a cache made from `bytes` carries. */
function cacheHeader(bytes: Buffer): Buffer {
  const header = Buffer.alloc(CODE_CACHE_HEADER_BYTES);
  sha256(bytes).copy(header, 0);
  const crc = crc32();
  if (crc) {
    header.writeUInt32LE(crc(bytes), CRC_AT);
    header.writeUInt32LE(1, HAS_CRC_AT);
  }
  return header;
}

/** Whether a cache header names these bundle bytes: by CRC-32 when both sides have one, else by SHA-256. */
function madeFrom(header: Buffer, bytes: Buffer): boolean {
  const crc = crc32();
  if (crc && header.readUInt32LE(HAS_CRC_AT) === 1) return crc(bytes) === header.readUInt32LE(CRC_AT);
  return sha256(bytes).equals(header.subarray(0, 32));
}
/**
 * The bundle file's frame. Its text compiles as it is, with no string built around it at run time
 * (V8 would copy a 1.2 MB concatenation once more to flatten it): run as a script, its value is the
 * CommonJS module function; loaded by Node's own CommonJS loader (where top-level `this` is
 * `module.exports`), it runs that function as the module.
 */
const BUNDLE_HEAD =
  "(function (body) { return typeof module === 'object' && module !== null && this === module.exports ? body(exports, require, module, __filename, __dirname) : body; }).call(this, function (exports, require, module, __filename, __dirname) {\n";
const BUNDLE_TAIL = '\n});\n';

/** CommonJS module text, framed as a bundle file (the build writes dist/src/cli.cjs so). */
export function frameBundle(commonJs: string): string {
  return BUNDLE_HEAD + commonJs + BUNDLE_TAIL;
}

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
  const cacheFile = fileURLToPath(new URL(cacheName, dir));
  const stored = readOptional(cacheFile);
  let cachedData: Buffer | undefined;
  let cache: CodeCacheState = 'none';
  if (stored && stored.length > CODE_CACHE_HEADER_BYTES) {
    if (madeFrom(stored.subarray(0, CODE_CACHE_HEADER_BYTES), bytes)) cachedData = stored.subarray(CODE_CACHE_HEADER_BYTES);
    else cache = 'other-bundle';
  }
  const source = bytes.toString('latin1');
  if (!source.startsWith(BUNDLE_HEAD)) throw new Error(`${file} is not a framed bundle (rebuild with \`npm run build\`)`);
  const script = new vm.Script(source, { filename: file, cachedData });
  if (cachedData) cache = script.cachedDataRejected ? 'rejected-by-v8' : 'accepted';
  const module = { exports: {} as T };
  const fn = script.runInThisContext() as (e: T, r: NodeJS.Require, m: { exports: T }, f: string, d: string) => void;
  fn(module.exports, createRequire(file), module, file, dirname(file));
  return {
    exports: module.exports,
    cache,
    writeCodeCache: (path = cacheFile) => {
      const data = Buffer.concat([cacheHeader(bytes), script.createCachedData()]);
      writeFileSync(path, data);
      return data.length;
    },
  };
}
