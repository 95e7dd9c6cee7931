// One read of the evidence for the SHA-256 and the pool scan (src/dump/evidence-pass.ts): on every
// dump form the digest equals node:crypto's over the file, the scan's hits and the whole analysis
// equal those of a scan reading its own pages, and the evidence layer's byte count proves the file
// was read once: the pass reads exactly the bytes of a page-only scan plus the file's non-page bytes.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { FORMS, generate } from '../samples/generate.ts';
import { openEvidencePass, segmentsInFileOrder } from '../src/dump/evidence-pass.ts';
import { openDump } from '../src/dump/open.ts';
import { FilePhysicalMemory } from '../src/dump/physical.ts';
import type { Dump } from '../src/dump/types.ts';
import { discoverKernel, observedRvas } from '../src/ntos/kernel.ts';
import { scanProcesses } from '../src/ntos/pool-scan.ts';
import { resolveKernelLayout } from '../src/ntos/symbols.ts';
import { analyzeDump } from '../src/vsm/analyze.ts';
import { buildRdmp, buildVmss, pageMap, writeTmp } from './helpers/dump-builders.ts';

const DIR = new URL('./.tmp/evidence-pass/', import.meta.url).pathname;
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });
const SIZE = 24 << 20;
/** Small reads: many chunks, and the hash worker in use (the file is over the pass's SLOTS chunks). */
const CHUNK = 256 * 1024;

const sha256Of = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const fileOf = (d: Dump) => (d.physical as FilePhysicalMemory).file;
const json = (x: unknown) => JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
/** Bytes of the file that are not present pages (headers, bitmaps, run tables, tails). */
const nonPageBytes = (d: Dump) => d.fileSize - d.physical!.presentPages * 4096;

/** The scan of `dump` (kernel found, layout resolved first) and the bytes the evidence layer read during it. */
async function scanOf(dump: Dump, inner: Dump) {
  const found = discoverKernel(dump);
  const { layout } = await resolveKernelLayout(found, { observedRvas: observedRvas(found), ntSymbolPath: '' });
  const before = fileOf(inner).bytesRead;
  const r = scanProcesses(dump.physical!, layout, { kernel: found.vm!, chunkBytes: CHUNK });
  return { r, bytes: fileOf(inner).bytesRead - before };
}

function makeVmware(rawPath: string): string {
  // The raw image as a .vmem, mapped 1:1 by a .vmss in two regions (as across a PCI hole).
  const raw = readFileSync(rawPath);
  const pages = raw.length / 4096;
  const vmem = `${DIR}guest.vmem`;
  writeFileSync(vmem, raw);
  writeFileSync(`${DIR}guest.vmss`, buildVmss([{ ppn: 0, pageNum: 0, size: pages / 2 }, { ppn: pages / 2, pageNum: pages / 2, size: pages / 2 }]));
  return vmem;
}

const forms = [...FORMS, 'vmware'] as const;
for (const form of forms) {
  test.serial(`${form}: one read gives the file's SHA-256 and the scan's own hits`, async (t) => {
    const gen = `${DIR}main.${form === 'vmware' ? 'raw' : form}.dmp`;
    generate({ scenario: 'vsm-credential-guard', form: form === 'vmware' ? 'raw' : form, sizeBytes: SIZE, out: gen, seed: 5 });
    const path = form === 'vmware' ? makeVmware(gen) : gen;
    const expected = sha256Of(path);

    const plain = openDump(path);
    t.is(plain.format, form === 'vmware' ? 'vmware' : plain.format);
    const own = await scanOf(plain, plain);
    plain.close();

    for (const inline of [false, true]) {
      const d = openDump(path);
      t.true(segmentsInFileOrder((d.physical as FilePhysicalMemory).segments()), form);
      const pass = openEvidencePass(d, { chunkBytes: CHUNK, inline });
      const shared = await scanOf(pass.dump, d);
      const afterScan = fileOf(d).bytesRead;
      const h = pass.finish();
      t.is(h.sha256, expected, `${form} inline=${inline}`);
      t.true(h.onePass);
      t.is(fileOf(d).bytesRead, afterScan, 'finish read nothing more: the scan pass covered the file');
      t.is(json(shared.r), json(own.r), 'same hits, stats and markers as a scan reading its own pages');
      t.true(shared.r.hits.length > 10);
      // Read once: the page-only scan's bytes plus the file's other bytes, not a second copy of the file.
      t.is(shared.bytes - own.bytes, nonPageBytes(d), form);
      d.close();
    }
    rmSync(gen, { force: true });
    rmSync(`${gen}.truth.json`, { force: true });
  });
}

test.serial('the whole analysis through the pass equals the analysis without it; no scan: the file is hashed once', async (t) => {
  const path = `${DIR}analysis.full.dmp`;
  generate({ scenario: 'process-unlinked', form: 'full', sizeBytes: SIZE, out: path, seed: 9 });
  const a0 = openDump(path);
  const plain = await analyzeDump(a0, { symbols: { ntSymbolPath: '' } });
  const plainBytes = fileOf(a0).bytesRead;
  a0.close();

  const d = openDump(path);
  const pass = openEvidencePass(d);
  const a = await analyzeDump(pass.dump, { symbols: { ntSymbolPath: '' } });
  const h = pass.finish();
  t.is(h.sha256, sha256Of(path));
  t.true(h.onePass);
  t.is(json(a), json(plain));
  t.is(fileOf(d).bytesRead - plainBytes, nonPageBytes(d));
  d.close();

  // --no-scan: nothing shares the read; finish() reads the whole file once for the hash.
  const n = openDump(path);
  const p2 = openEvidencePass(n);
  await analyzeDump(p2.dump, { scan: false, symbols: { ntSymbolPath: '' } });
  const before = fileOf(n).bytesRead;
  const h2 = p2.finish();
  t.is(h2.sha256, sha256Of(path));
  t.false(h2.onePass);
  t.is(fileOf(n).bytesRead - before, n.fileSize);
  n.close();
  rmSync(path, { force: true });
  rmSync(`${path}.truth.json`, { force: true });
});

test.serial('pages stored out of physical order: the scan keeps its own chunks, the file is hashed on its own', (t) => {
  const path = writeTmp('evidence-pass', 'desc.dmp', buildRdmp(pageMap([...Array(40).keys()].map((i) => (i < 20 ? 1 + i : 0x100 + i))), { dumpType: 0xa, rangeOrder: 'desc' }));
  const seen = (d: Dump) => {
    const out: string[] = [];
    d.physical!.forEachChunk((base, data) => out.push(`${base}:${createHash('sha256').update(data).digest('hex')}`), 8 * 4096);
    return out;
  };
  const plain = openDump(path);
  const want = seen(plain);
  plain.close();
  const d = openDump(path);
  t.false(segmentsInFileOrder((d.physical as FilePhysicalMemory).segments()));
  const pass = openEvidencePass(d, { chunkBytes: 8 * 4096 });
  t.deepEqual(seen(pass.dump), want);
  const h = pass.finish();
  t.false(h.onePass);
  t.is(h.sha256, sha256Of(path));
  d.close();
});

test.serial('a VMware pair named by its .vmss: the .vmss is hashed, the pages come from the .vmem', (t) => {
  const vmem = writeTmp('evidence-pass', 'pair.vmem', Buffer.concat([...Array(24).keys()].map((i) => Buffer.alloc(4096, i))));
  const vmss = writeTmp('evidence-pass', 'pair.vmss', buildVmss([{ ppn: 0, pageNum: 0, size: 24 }]));
  const d = openDump(vmss);
  t.is(d.path, vmem);
  const pass = openEvidencePass(d, { hashPath: vmss });
  let pages = 0;
  pass.dump.physical!.forEachChunk((_b, data) => (pages += data.length / 4096));
  t.is(pages, 24);
  const h = pass.finish();
  t.false(h.onePass);
  t.is(h.sha256, sha256Of(vmss));
  d.close();
});
