// Decompressed ISF size is bounded (MAX_ISF_DECOMPRESSED_BYTES): an xz file that expands to 4 GiB
// is refused from its LZMA2 chunk headers, before any decompression, with bounded memory (peak RSS
// measured in a child process); the size read from the structure equals what decompression gives
// for every real ISF; a gzip bomb stops at the same bound.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { xz } from '@napi-rs/lzma';
import { MAX_ISF_DECOMPRESSED_BYTES } from '../src/ntos/isf.ts';
import { xzDecompressedSize } from '../src/ntos/xz-size.ts';
import { runDir } from './helpers/run-dir.ts';

const TMP = runDir('isf-bomb');
const CHILD = fileURLToPath(new URL('./helpers/isf-load-child.ts', import.meta.url));
const ISF = fileURLToPath(new URL('../../shared/data/isf/windows/ntkrnlmp.pdb/', import.meta.url));
const GIB = 2 ** 30;

function loadInChild(path: string): { ok: boolean; code?: string; message?: string; startKb: number; peakKb: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, path], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`child: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

test('an xz file that expands to 4 GiB is refused before decompression, with bounded memory', (t) => {
  // 64 MiB of zeros through the xz tool (under a second), as 64 concatenated streams: one valid .xz
  // of 4 GiB (`xz -l` agrees), a few KiB per stream.
  const one = execFileSync('xz', ['-T1', '-0', '-c'], { input: Buffer.alloc(64 * 2 ** 20), maxBuffer: 64 * 2 ** 20 });
  const bomb = Buffer.concat(Array.from({ length: 64 }, () => one));
  const path = join(TMP, 'bomb.json.xz');
  writeFileSync(path, bomb);
  const listed = execFileSync('xz', ['--robot', '-l', path], { encoding: 'utf8' });
  t.regex(listed, new RegExp(`^totals\\t64\\t64\\t${bomb.length}\\t${4 * GIB}\\t`, 'm'), 'xz itself says 4 GiB');
  t.throws(() => xzDecompressedSize(bomb, MAX_ISF_DECOMPRESSED_BYTES, 'bomb'), { message: /more than the 134217728-byte bound/ });
  t.is(xzDecompressedSize(bomb, 8 * GIB, 'bomb'), 4 * GIB, 'the structure walk reads the whole 4 GiB');
  const r = loadInChild(path);
  t.false(r.ok);
  t.is(r.code, 'isf.decompressed-size');
  t.regex(r.message!, /bomb\.json\.xz: xz expands to more than the 134217728-byte bound/);
  t.true(r.peakKb - r.startKb < 64 * 1024, `refusing grew peak RSS by ${r.peakKb - r.startKb} KiB`);
  t.log(`4 GiB xz bomb (${bomb.length} bytes): refused; child peak RSS ${Math.round(r.peakKb / 1024)} MiB (${Math.round(r.startKb / 1024)} MiB before the load)`);
});

test('the size read from the xz structure equals the decompressed size of every real ISF', (t) => {
  const files = readdirSync(ISF).filter((f) => f.endsWith('.json.xz'));
  t.true(files.length >= 7);
  for (const f of files) {
    const b = readFileSync(join(ISF, f));
    t.is(xzDecompressedSize(b, MAX_ISF_DECOMPRESSED_BYTES, f), xz.decompressSync(b).length, f);
  }
});

test('damaged xz structure and a gzip bomb are refused as bad input', (t) => {
  const good = xz.compressSync(Buffer.from('{"metadata":{}}'));
  t.throws(() => xzDecompressedSize(good.subarray(0, good.length - 20), MAX_ISF_DECOMPRESSED_BYTES, 'cut'), { message: /runs past the end/ });
  // The block header (at 12): size, flags, filter ID 0x21 (LZMA2), properties; LZMA2 data at 24.
  t.is(good[14], 0x21);
  const notLzma2 = Buffer.from(good);
  notLzma2[14] = 0x03;
  t.throws(() => xzDecompressedSize(notLzma2, MAX_ISF_DECOMPRESSED_BYTES, 'bad'), { message: /not LZMA2/ });
  const badChunk = Buffer.from(good);
  badChunk[24] = 0x10;
  t.throws(() => xzDecompressedSize(badChunk, MAX_ISF_DECOMPRESSED_BYTES, 'bad'), { message: /control byte 0x10 is invalid/ });
  const gz = join(TMP, 'bomb.json.gz');
  writeFileSync(gz, gzipSync(Buffer.alloc(MAX_ISF_DECOMPRESSED_BYTES + 4096)));
  const r = loadInChild(gz);
  t.false(r.ok);
  t.is(r.code, 'isf.decompress');
});
