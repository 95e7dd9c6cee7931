// The evidence pass against `cat`: over a ≥ 1 GiB full crash dump (made once under bench/.tmp/),
// time `cat dump > /dev/null` and our sequential pass (SHA-256 of the file + a 'Proc' pool-tag
// search over each chunk, hashEvidence) twice: with the file in the page cache, and cold (evicted
// with `dd iflag=nocache count=0` before each pass, when dd supports it). Then the physical-page
// pass (openDump + forEachChunk, the same search). Prints MB/s, ratios to cat (target ≥ 70%) and
// peak RSS. The machine's load average is printed: figures on a busy machine are noisy.
// Usage: node --import tsx bench/hash-scan.ts [sizeMiB]   (default 1024)
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hashEvidence } from '../src/dump/hash.ts';
import { openDump } from '../src/dump/open.ts';

const MiB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 1024);
const dir = fileURLToPath(new URL('./.tmp/', import.meta.url));
const path = `${dir}full-${sizeMiB}MiB.dmp`;
const pages = (sizeMiB * MiB) / 4096;
const TAG = Buffer.from('Proc');


/** A DumpType 1 header with two runs (a hole between them, as on real machines). */
function header(): Buffer {
  const h = Buffer.alloc(0x2000);
  for (let i = 0; i < h.length; i += 4) h.write('PAGE', i, 'latin1');
  h.write('PAGEDU64', 0, 'latin1');
  h.writeUInt32LE(15, 8);
  h.writeUInt32LE(19041, 0xc);
  h.writeBigUInt64LE(0x1ad000n, 0x10);
  h.writeUInt32LE(0x8664, 0x30);
  h.writeUInt32LE(1, 0x34);
  h.writeUInt32LE(2, 0x88);
  h.writeUInt32LE(0, 0x8c);
  h.writeBigUInt64LE(BigInt(pages), 0x90);
  const first = 0x9f;
  h.writeBigUInt64LE(1n, 0x98);
  h.writeBigUInt64LE(BigInt(first), 0xa0);
  h.writeBigUInt64LE(0x100n, 0xa8);
  h.writeBigUInt64LE(BigInt(pages - first), 0xb0);
  h.writeUInt32LE(1, 0xf98);
  return h;
}

function ensureDump(): void {
  const want = 0x2000 + pages * 4096;
  if (existsSync(path) && statSync(path).size === want) return;
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`creating ${path} (${sizeMiB} MiB)…\n`);
  const fd = openSync(path, 'w');
  writeSync(fd, header());
  const chunk = Buffer.alloc(8 * MiB);
  let x = 0x12345678;
  for (let i = 0; i < chunk.length; i += 4) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    chunk.writeUInt32LE(x, i);
  }
  for (let written = 0; written < pages * 4096; written += chunk.length) {
    // A pool-tag-like 'Proc' every 64 KiB, and a chunk-unique word so pages differ.
    for (let o = 4; o < chunk.length; o += 65536) TAG.copy(chunk, o);
    chunk.writeUInt32LE(written / chunk.length, 8);
    writeSync(fd, chunk, 0, Math.min(chunk.length, pages * 4096 - written));
  }
  closeSync(fd);
}

function countTags(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(TAG); i >= 0; i = data.indexOf(TAG, i + 1)) n++;
  return n;
}

function timeCat(): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', `cat "${path}" > /dev/null`]);
  if (r.status !== 0) throw new Error(`cat failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const mbps = (bytes: number, s: number) => bytes / 1e6 / s;

/** Drops this file from the page cache (GNU dd's nocache uses posix_fadvise DONTNEED; no root needed). */
function evict(): boolean {
  return spawnSync('dd', [`if=${path}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' }).status === 0;
}

async function ours(inline: boolean): Promise<{ seconds: number; cpu: number; hits: number; sha256: string }> {
  let hits = 0;
  const c0 = process.cpuUsage(); // process-wide: includes the hashing worker thread
  const r = await hashEvidence(path, { inline, onChunk: (_o, d) => (hits += countTags(d)) });
  const c = process.cpuUsage(c0);
  return { seconds: r.seconds, cpu: (c.user + c.system) / 1e6, hits, sha256: r.sha256 };
}

ensureDump();
const bytes = statSync(path).size;
const ROUNDS = 2;
const best = { catWarm: Infinity, catCold: Infinity, workerWarm: Infinity, workerCold: Infinity, inlineWarm: Infinity };
let last = { seconds: 0, cpu: 0, hits: 0, sha256: '' };
timeCat(); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  best.catWarm = Math.min(best.catWarm, timeCat());
  last = await ours(false);
  best.workerWarm = Math.min(best.workerWarm, last.seconds);
  best.inlineWarm = Math.min(best.inlineWarm, (await ours(true)).seconds);
}
const canEvict = evict();
if (canEvict) {
  for (let r = 0; r < ROUNDS; r++) {
    evict();
    best.catCold = Math.min(best.catCold, timeCat());
    evict();
    best.workerCold = Math.min(best.workerCold, (await ours(false)).seconds);
  }
}

const d = openDump(path);
let physHits = 0;
let physBytes = 0;
const t0 = process.hrtime.bigint();
d.physical!.forEachChunk((_b, data) => {
  physHits += countTags(data);
  physBytes += data.length;
});
const phys = Number(process.hrtime.bigint() - t0) / 1e9;
d.close();

const row = (k: string, v: string) => console.log(`${k.padEnd(38)}${v}`);
const rate = (s: number) => `${mbps(bytes, s).toFixed(0)} MB/s (${s.toFixed(3)} s)`;
const ratio = (a: number, b: number) => `${((100 * b) / a).toFixed(0)}%`;
row('file', `${path} (${(bytes / MiB).toFixed(0)} MiB, full crash dump, 2 runs)`);
row('load average (1 min)', (await import('node:os')).loadavg()[0]!.toFixed(2) + ` on ${(await import('node:os')).availableParallelism()} CPUs`);
row('page cache warm: cat > /dev/null', rate(best.catWarm));
row('page cache warm: sha256+scan', `${rate(best.workerWarm)} = ${ratio(best.workerWarm, best.catWarm)} of cat (hash in a worker)`);
row('page cache warm: sha256+scan inline', `${rate(best.inlineWarm)} = ${ratio(best.inlineWarm, best.catWarm)} of cat`);
if (canEvict) {
  row('cold (evicted): cat > /dev/null', rate(best.catCold));
  row('cold (evicted): sha256+scan', `${rate(best.workerCold)} = ${ratio(best.workerCold, best.catCold)} of cat (target ≥ 70%)`);
} else row('cold', 'not measured (dd iflag=nocache unavailable)');
row('CPU time, one sha256+scan pass', `${last.cpu.toFixed(2)} s (main thread + hash worker) = ${mbps(bytes, last.cpu).toFixed(0)} MB per CPU-second`);
row("'Proc' tag hits", `${last.hits} (sha256 ${last.sha256.slice(0, 16)}…)`);
row('physical pass, scan only', `${mbps(physBytes, phys).toFixed(0)} MB/s (forEachChunk over ${physBytes / 4096} pages, ${physHits} hits)`);
row('peak RSS', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
