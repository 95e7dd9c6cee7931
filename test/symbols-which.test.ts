import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openDump } from '../src/dump/open.ts';
import { discoverKernel } from '../src/ntos/kernel.ts';
import { storeRelPath } from '../src/ntos/symbol-store.ts';
import { renderText, which, type WhichReport } from '../src/commands/symbols-which.ts';
import { buildTinyRaw, sample, unknownKernelCopy } from './helpers/kernel-synth.ts';

const BIN = new URL('../bin/vsm-forensics.js', import.meta.url).pathname;
const REAL = new URL('../../shared/data/real/', import.meta.url).pathname;
const ISF = new URL('../../shared/data/isf', import.meta.url).pathname;
const FIX = new URL('./fixtures/pdb/', import.meta.url).pathname;
const TMP = new URL('./.tmp/symbols-which/', import.meta.url).pathname;
rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });
// Generated dumps are tens of MiB each: leave nothing behind.
test.after.always(() => rmSync(TMP, { recursive: true, force: true }));

/** Runs the CLI with an isolated symbol environment (no _NT_SYMBOL_PATH, a private cache). */
function cli(args: string[], cache = 'cache'): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, _NT_SYMBOL_PATH: '', VSM_SYMBOL_CACHE: join(TMP, cache), VSM_LOG_LEVEL: 'error' }, maxBuffer: 16 * 2 ** 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The command's report, in process (the CLI runs are kept for exit codes: each costs a tsx start). */
async function report(path: string, opts: { symbols?: string[]; symbolServer?: string; cache?: string } = {}): Promise<WhichReport> {
  const d = openDump(path);
  try {
    return await which(discoverKernel(d), d, { symbols: opts.symbols, symbolServer: opts.symbolServer, ntSymbolPath: '', cacheDir: join(TMP, opts.cache ?? 'cache') });
  } finally {
    d.close();
  }
}

test('real triage dump: reports base, build and why the RSDS is unreadable; the table identifies 19041.804 by RVAs', async (t) => {
  const j = JSON.parse(JSON.stringify(await report(join(REAL, 'triage_x64.dmp'))));
  t.is(j.kernel.pdb, null);
  t.is(j.kernel.base, '0xfffff8047ba00000');
  t.is(j.kernel.build, 19041);
  t.is(j.kernel.imageStorePath, 'ntoskrnl.exe/0D8333E61046000/ntoskrnl.exe');
  t.true(j.kernel.problems.some((p: string) => p.includes('debug directory')));
  t.true(j.kernel.evidence.some((e: string) => e.includes('ntoskrnl.exe: DllBase 0xfffff8047ba00000')));
  t.true(j.symbols.found);
  t.false(j.symbols.exact);
  t.deepEqual(j.symbols.layout, { kind: 'builtin', key: '5278AFF86C341677D7D7835C85B7B844-1', version: '10.0.19041.804', build: 19041 });
  t.true(j.symbols.tried.some((x: { step: string; result: string }) => x.step === 'builtin-rva' && x.result === 'matched'));
  t.true(j.symbols.table.kernels >= 200);
  const text = await cli(['symbols', 'which', join(REAL, 'triage_x64.dmp')]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /PDB\s+unknown \(the kernel's RSDS record could not be read/);
  t.regex(text.stdout, /kernel base\s+0xfffff8047ba00000/);
});

test('unseen kernel: exit code 4 with file name, store path, ISF path and URL; what inference could still do', async (t) => {
  const s = sample(TMP, '5278AFF86C341677D7D7835C85B7B844-1', 'full');
  const path = unknownKernelCopy(s, join(TMP, 'unseen.dmp'), 'B0B0B0B0111122223333444455556666', 26100);
  const r = await cli(['symbols', 'which', path, '--json', '--symbols', ISF]);
  t.is(r.code, 4, r.stderr);
  const j = JSON.parse(r.stdout);
  t.deepEqual(j.kernel.pdb, { name: 'ntkrnlmp.pdb', guid: 'B0B0B0B0111122223333444455556666', age: 1 });
  t.deepEqual(j.symbols.missing, {
    pdbName: 'ntkrnlmp.pdb',
    guid: 'B0B0B0B0111122223333444455556666',
    age: 1,
    storePath: 'ntkrnlmp.pdb/B0B0B0B01111222233334444555566661/ntkrnlmp.pdb',
    isfPath: 'windows/ntkrnlmp.pdb/B0B0B0B0111122223333444455556666-1.json.xz',
    url: 'https://msdl.microsoft.com/download/symbols/ntkrnlmp.pdb/B0B0B0B01111222233334444555566661/ntkrnlmp.pdb',
  });
  t.deepEqual(j.symbols.tried.map((x: { step: string }) => x.step), ['symbols', 'cache', 'builtin', 'server', 'builtin-build']);
  t.true(j.inference.possible);
  t.true(j.inference.fields.includes('KPROCESS.SecureState'));
  const text = { stdout: renderText(j) };
  t.regex(text.stdout, /URL\s+https:\/\/msdl\.microsoft\.com\/download\/symbols\/ntkrnlmp\.pdb\/B0B0B0B01111222233334444555566661\/ntkrnlmp\.pdb/);
  t.regex(text.stdout, /store path\s+ntkrnlmp\.pdb\/B0B0B0B01111222233334444555566661\/ntkrnlmp\.pdb/);
});

test('a --symbols ISF of the dump\'s kernel is reported as the source, exit 0', async (t) => {
  const s = sample(TMP, '5278AFF86C341677D7D7835C85B7B844-1', 'full');
  const j = await report(s.path, { symbols: [join(ISF, 'windows')] });
  t.true(j.symbols.found);
  t.true(j.symbols.exact);
  t.is(j.symbols.layout!.kind, 'isf');
  t.regex(j.symbols.layout!.path!, /5278AFF86C341677D7D7835C85B7B844-1\.json\.xz$/);
  t.is(j.kernel.psActiveProcessHead, s.truth.kernel.psActiveProcessHead);
});

test('--symbol-server: the kernel PDB is downloaded from a local server into the cache and used', async (t) => {
  const raw = join(TMP, 'tiny.raw');
  buildTinyRaw(raw, 0xfffff8057c245000n, 26100);
  const pdb = readFileSync(join(FIX, 'ntkrnlmp.pdb'));
  const id = { name: 'ntkrnlmp.pdb', guid: 'ECE13B796CA55D704C4C44205044422E', age: 1 };
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === `/${storeRelPath(id)}`) {
      res.writeHead(200, { 'content-length': pdb.length });
      res.end(pdb);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const miss = await report(raw, { cache: 'dl' });
    t.false(miss.symbols.found);
    t.is(hits.length, 0, 'no request without --symbol-server');
    const j = await report(raw, { symbolServer: url, cache: 'dl' });
    t.true(j.symbols.found);
    t.true(j.symbols.exact);
    t.is(j.symbols.layout!.kind, 'pdb');
    t.is(j.kernel.psActiveProcessHead, '0xfffff8057c248000');
    t.deepEqual(hits, [`/${storeRelPath(id)}`]);
    t.true(readFileSync(join(TMP, 'dl', ...storeRelPath(id).split('/'))).equals(pdb));
  } finally {
    await new Promise((ok) => server.close(ok));
  }
});

test('bad input exits 2, an unsupported dump 3: both distinct from 4', async (t) => {
  const junk = join(TMP, 'notes.txt');
  writeFileSync(junk, 'not a dump');
  const bad = await cli(['symbols', 'which', junk]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /vsm-forensics: /);
  const arm = await cli(['symbols', 'which', join(REAL, 'triage_arm64.dmp')]);
  t.is(arm.code, 3);
});
