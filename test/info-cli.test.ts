// `vsm-forensics info` through the real CLI entry point (bin/vsm-forensics.js).
import test from 'ava';
import { cli } from './helpers/cli.ts';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { filetimeToIso } from '../src/dump/numbers.ts';
import { hashEvidence } from '../src/dump/hash.ts';
import { buildBitmap, buildFull, pageMap, writeTmp } from './helpers/dump-builders.ts';
import { join } from 'node:path';
import { generate } from '../samples/generate.ts';

const REAL = fileURLToPath(new URL('../../shared/data/real/', import.meta.url));
const DIR = 'info-cli';


test('real triage_x64.dmp: JSON facts, DumpType 4 explained, SHA-256 of the file', async (t) => {
  const r = await cli('info', '--json', REAL + 'triage_x64.dmp');
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.like(j, {
    format: 'crash-triage',
    dumpType: 4,
    osBuild: 19041,
    processors: 16,
    dtb: '0x1ad000',
    bugCheck: { code: '0x1000007e' },
    psActiveProcessHead: '0xfffff8047c61e200',
    psLoadedModuleList: '0xfffff8047c62a390',
    kdDebuggerDataBlock: '0xfffff8047c600b20',
    physical: null,
    partialByNature: true,
    file: { size: 1444532, sha256: '6875e8ff013eddb9d562165067be24e2a231a8851690bb101f6597ca9534cd28' },
  });
  t.regex(j.partialReasons[0], /no physical memory/);
  t.regex(j.systemTime, /^2021-02-21T\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.like(j.details.triage.kernel, { name: '\\SystemRoot\\system32\\ntoskrnl.exe', dllBase: '0xfffff8047ba00000', sizeOfImage: '0x1046000' });
  t.is(j.details.triage.drivers.length, 151);
  const text = await cli('info', '--no-hash', REAL + 'triage_x64.dmp');
  t.is(text.code, 0);
  t.regex(text.stdout, /OS build:\s+19041/);
  t.regex(text.stdout, /holds no physical memory/);
  t.regex(text.stdout, /not computed/);
});

test('real triage_arm64.dmp: unsupported architecture, exit code 3, one line', async (t) => {
  const r = await cli('info', REAL + 'triage_arm64.dmp');
  t.is(r.code, 3);
  t.is(r.stdout, '');
  t.regex(r.stderr, /^vsm-forensics: unsupported architecture ARM64/);
  t.is(r.stderr.trim().split('\n').length, 1);
});

test('synthetic full and bitmap dumps: runs, holes, missing pages and SHA-256', async (t) => {
  const pages = pageMap([...Array(40).keys()].map((i) => i + 1).concat([0x80, 0x81, 0x82]));
  const full = buildFull(pages, { comment: 'test dump', dtb: 0x5000n, bugCheckCode: 0xe2 });
  const path = writeTmp(DIR, 'full.dmp', full);
  const r = await cli('info', '--json', path);
  t.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.is(j.file.sha256, createHash('sha256').update(full).digest('hex'));
  t.like(j, { format: 'crash-full', dumpType: 1, dtb: '0x5000', comment: 'test dump', bugCheck: { code: '0xe2' }, partialByNature: false });
  t.like(j.physical, { runCount: 2, presentPages: 43, holes: { count: 1, pages: 0x80 - 41 }, missing: { pages: 0 } });
  t.deepEqual(j.physical.runs, [{ basePage: '0x1', pageCount: 40 }, { basePage: '0x80', pageCount: 3 }]);
  t.deepEqual(j.details.parseSteps, ['parse-header', 'check-machine', 'check-dump-type', 'parse-run-table', 'build-physical-map']);

  const cut = writeTmp(DIR, 'bitmap-cut.dmp', buildBitmap(pages, { signature: 'SDMP' }).subarray(0, -2 * 4096));
  const c = JSON.parse((await cli('info', '--json', '--no-hash', cut)).stdout);
  t.like(c.physical, { presentPages: 41, missing: { pages: 2, ranges: [{ basePage: '0x81', pageCount: 2 }] } });
  t.true(c.partialByNature);
  t.true(c.partialReasons.some((x: string) => /truncated.*0x81\.\.0x82/.test(x)));
  t.true(c.partialReasons.some((x: string) => /kernel memory only/.test(x)));
});

test('bad input and usage exit codes', async (t) => {
  t.is((await cli('info', writeTmp(DIR, 'empty.bin', Buffer.alloc(0)))).code, 2);
  t.is((await cli('info', '/nonexistent/file.dmp')).code, 2);
  const garbage = Buffer.concat([Buffer.from('PAGEDU64'), Buffer.alloc(100)]);
  const g = await cli('info', writeTmp(DIR, 'garbage.dmp', garbage));
  t.is(g.code, 2);
  t.regex(g.stderr, /cut short/);
});

test('random bytes: info says no page-table root and no kernel were found, exit 2; a raw image with both says so, exit 0', async (t) => {
  const bytes = Buffer.alloc(4 << 20);
  let x = 0x9e3779b9;
  for (let i = 0; i < bytes.length; i += 4) {
    x = (Math.imul(x ^ (x >>> 15), 0x85ebca6b) + i) >>> 0;
    bytes.writeUInt32LE(x, i);
  }
  const r = await cli('info', writeTmp(DIR, 'random.raw', bytes), '--json', '--no-hash');
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, /no page-table root .* and no Windows x64 kernel found/);
  t.is(r.stderr.trim().split('\n').length, 1, 'one line');
  const j = JSON.parse(r.stdout);
  t.is(j.discovery.pageTableRoot, null);
  t.is(j.discovery.kernel, null);
  t.regex(j.discovery.problem, /no Windows x64 kernel found/);
  const text = await cli('info', writeTmp(DIR, 'random2.raw', bytes), '--no-hash');
  t.is(text.code, 2);
  t.regex(text.stdout, /Page-table root: +not found/);
  t.regex(text.stdout, /Kernel: +not found/);

  const s = generate({ scenario: 'vsm-credential-guard', form: 'raw', sizeBytes: 16 * 2 ** 20, seed: 5, out: join(fileURLToPath(new URL('./.tmp/info-cli/', import.meta.url)), 'cg.raw') });
  const ok = await cli('info', s.dumpPath, '--json', '--no-hash');
  t.is(ok.code, 0, ok.stderr);
  const d = JSON.parse(ok.stdout).discovery;
  t.truthy(d.pageTableRoot);
  t.is(d.kernel.base, s.truth.kernel.base);
});

test('streamed hash equals a one-shot hash across chunk boundaries; FILETIME conversion', async (t) => {
  const data = Buffer.alloc(3 * 65536 + 123);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const p = writeTmp(DIR, 'hash.bin', data);
  const seen: number[] = [];
  const r = await hashEvidence(p, { chunkBytes: 65536, onChunk: (off, d) => seen.push(off, d.length) });
  t.is(r.sha256, createHash('sha256').update(data).digest('hex'));
  t.is(r.bytes, data.length);
  t.deepEqual(seen, [0, 65536, 65536, 65536, 131072, 65536, 196608, 123]);
  // Large enough for the worker-thread path (≥ 5 chunks): same digest, chunks still in order.
  const big = Buffer.alloc(12 * 65536 + 777);
  for (let i = 0; i < big.length; i++) big[i] = (i * 13 + (i >> 9)) & 0xff;
  const bp = writeTmp(DIR, 'hash-big.bin', big);
  const offs: number[] = [];
  let scanned = 0;
  const w = await hashEvidence(bp, { chunkBytes: 65536, onChunk: (off, d) => (offs.push(off), (scanned += d.length)) });
  t.is(w.sha256, createHash('sha256').update(big).digest('hex'));
  t.deepEqual(offs, [...Array(13).keys()].map((i) => i * 65536));
  t.is(scanned, big.length);
  t.is((await hashEvidence(bp, { chunkBytes: 65536, inline: true })).sha256, w.sha256);
  t.is(filetimeToIso(0n), null);
  // One rule for `info` and `analyze`: a header time outside 1990..2200 is damage, shown as unknown.
  t.is(filetimeToIso(116444736000000000n + 10000000n), null);
  t.is(filetimeToIso(116444736000000000n + 1715670137800n * 10000n), '2024-05-14T07:02:17.800Z');
});
