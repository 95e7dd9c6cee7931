import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ExitCode } from '../src/errors.ts';
import { resolveSymbols, KernelSymbolsNeededError } from '../src/ntos/symbols.ts';
import { downloadPdb, findInDirectory, isfRelPath, parseNtSymbolPath, storeRelPath, symbolServerUrl } from '../src/ntos/symbol-store.ts';

const SHARED_ISF = new URL('../../shared/data/isf', import.meta.url).pathname;
const REAL = new URL('../../shared/data/real/', import.meta.url).pathname;
const TMP = new URL('./.tmp/symbols-resolve/', import.meta.url).pathname;
const K19041 = { name: 'ntkrnlmp.pdb', guid: '5278AFF86C341677D7D7835C85B7B844', age: 1 };
const K14393 = { name: 'ntkrnlmp.pdb', guid: 'DBBC830E3E9A48FDA25A2144C146930E', age: 1 };
const UNKNOWN = { name: 'ntkrnlmp.pdb', guid: '0123456789ABCDEF0123456789ABCDEF', age: 2 };
// exceptions-test.pdb: a real MSVC PDB; its .exe's RSDS names GUID 2A7ED8A5-… age 3 (../shared/data/real/SOURCES.md).
const EXC = { name: 'exceptions-test.pdb', guid: '2A7ED8A5D796443D80CF7200044EDF83', age: 3 };
const NO_ENV = { ntSymbolPath: '' };

rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });

test('store, ISF and URL paths follow the symbol-store and Volatility conventions', (t) => {
  t.is(storeRelPath(K19041), 'ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B8441/ntkrnlmp.pdb');
  t.is(storeRelPath({ ...K19041, age: 0x1a }), 'ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B8441A/ntkrnlmp.pdb');
  t.is(isfRelPath({ ...K19041, age: 26 }), 'windows/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-26.json.xz');
  t.is(symbolServerUrl('https://msdl.microsoft.com/download/symbols/', K19041), 'https://msdl.microsoft.com/download/symbols/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B8441/ntkrnlmp.pdb');
});

test('_NT_SYMBOL_PATH entries: plain dirs, cache*, srv* with stores and URL, symsrv*', (t) => {
  t.deepEqual(parseNtSymbolPath('c:\\sym;  /opt/isf ; cache*/var/c;cache*;SRV*c:\\a*/b*https://msdl.microsoft.com/download/symbols;srv*http://h/s;symsrv*symsrv.dll*/st*http://x;srv*/only/local;http://bare', '/DEF'), [
    { kind: 'dir', path: 'c:\\sym' },
    { kind: 'dir', path: '/opt/isf' },
    { kind: 'cache', path: '/var/c' },
    { kind: 'cache', path: '/DEF' },
    { kind: 'srv', stores: ['c:\\a', '/b'], url: 'https://msdl.microsoft.com/download/symbols' },
    { kind: 'srv', stores: ['/DEF'], url: 'http://h/s' },
    { kind: 'srv', stores: ['/st'], url: 'http://x' },
    { kind: 'srv', stores: ['/only/local'], url: undefined },
  ]);
  t.deepEqual(parseNtSymbolPath(''), []);
  t.deepEqual(parseNtSymbolPath(';;'), []);
});

test('--symbols ISF file of this kernel matches; a wrong one is reported as a mismatch', async (t) => {
  const isf = join(SHARED_ISF, isfRelPath(K19041));
  const r = await resolveSymbols(K19041, 19041, { ...NO_ENV, symbols: [join(SHARED_ISF, isfRelPath(K14393)), isf], cacheDir: join(TMP, 'c1') });
  t.true(r.exact);
  t.deepEqual(r.layout.source, { kind: 'isf', path: isf });
  t.is(r.layout.symbols.PsActiveProcessHead, 0xc1e200);
  t.is(r.layout.build, 19041);
  t.is(r.tried[0].result, 'mismatch');
  t.regex(r.tried[0].detail ?? '', /DBBC830E3E9A48FDA25A2144C146930E-1/);
  t.is(r.tried[1].result, 'matched');
});

test('--symbols directory in Volatility layout, given at its root or its windows/ level', async (t) => {
  for (const dir of [SHARED_ISF, join(SHARED_ISF, 'windows')]) {
    const r = await resolveSymbols(K14393, 14393, { ...NO_ENV, symbols: [dir], cacheDir: join(TMP, 'c2') });
    t.true(r.exact);
    t.is(r.layout.source.kind, 'isf');
    t.is(r.layout.fields['KPROCESS.SecurePid']?.offset, 0x2d0);
    t.regex(r.source, /--symbols directory/);
  }
});

test('symbol-store layout is found by its exact path (real PDB placed as <pdb>/<GUID><AGEHEX>/<pdb>)', async (t) => {
  const store = join(TMP, 'store');
  const dest = join(store, ...storeRelPath(EXC).split('/'));
  mkdirSync(join(dest, '..'), { recursive: true });
  copyFileSync(join(REAL, 'exceptions-test.pdb'), dest);
  t.deepEqual(findInDirectory(store, EXC), [{ path: dest, kind: 'pdb', layout: 'symbol store' }]);
  t.deepEqual(findInDirectory(store, { ...EXC, age: 4 }), []);
  // A user PDB is not a kernel: whatever the PDB reader says, the file is seen and not accepted.
  const err = await t.throwsAsync(resolveSymbols(EXC, undefined, { ...NO_ENV, symbols: [store], cacheDir: join(TMP, 'c3') }), { instanceOf: KernelSymbolsNeededError });
  const seen = (err as KernelSymbolsNeededError).tried.find((x) => x.where === dest);
  t.truthy(seen);
  t.not(seen?.result, 'matched');
});

test('_NT_SYMBOL_PATH directories are searched after --symbols', async (t) => {
  const r = await resolveSymbols(K19041, 19041, { ntSymbolPath: `/nonexistent/dir;cache*${SHARED_ISF}`, cacheDir: join(TMP, 'c4') });
  t.regex(r.source, /_NT_SYMBOL_PATH/);
  t.is(r.tried[0].result, 'not-found');
  t.is(r.tried[1].result, 'matched');
});

test('built-in table: exact GUID-age first, then same build (offsets only, marked not exact)', async (t) => {
  const exact = await resolveSymbols(K19041, 19041, { ...NO_ENV, cacheDir: join(TMP, 'c5') });
  t.true(exact.exact);
  t.deepEqual(exact.layout.source, { kind: 'builtin', key: '5278AFF86C341677D7D7835C85B7B844-1', exact: true });
  t.is(exact.layout.symbols.PsActiveProcessHead, 0xc1e200);
  t.regex(exact.source, /10\.0\.19041\.804/);

  const sameBuild = await resolveSymbols(UNKNOWN, 19041, { ...NO_ENV, cacheDir: join(TMP, 'c5') });
  t.false(sameBuild.exact);
  t.deepEqual(sameBuild.layout.symbols, {});
  t.is(sameBuild.layout.fields['EPROCESS.UniqueProcessId']?.offset, 0x440);
  t.deepEqual(sameBuild.layout.pdb, UNKNOWN);
  t.deepEqual(sameBuild.tried.map((x) => `${x.step}:${x.result}`), ['cache:not-found', 'builtin:not-found', 'server:skipped', 'builtin-build:matched']);

  const noId = await resolveSymbols(undefined, 19045, { ...NO_ENV, cacheDir: join(TMP, 'c5') });
  t.is(noId.layout.fields['EPROCESS.ImageFileName']?.offset, 0x5a8);
  t.regex(noId.source, /build:19041 \(for 19045\)/);
});

test('a miss says exactly what to fetch and where to put it, exit code 4', async (t) => {
  const err = await t.throwsAsync(resolveSymbols(UNKNOWN, 26100, { ...NO_ENV, cacheDir: join(TMP, 'c6') }), { instanceOf: KernelSymbolsNeededError });
  const e = err as KernelSymbolsNeededError;
  t.is(e.exitCode, ExitCode.SymbolsNeeded);
  t.is(e.exitCode, 4);
  t.deepEqual(e.wanted, {
    pdbName: 'ntkrnlmp.pdb',
    guid: UNKNOWN.guid,
    age: 2,
    storePath: 'ntkrnlmp.pdb/0123456789ABCDEF0123456789ABCDEF2/ntkrnlmp.pdb',
    isfPath: 'windows/ntkrnlmp.pdb/0123456789ABCDEF0123456789ABCDEF-2.json.xz',
    url: 'https://msdl.microsoft.com/download/symbols/ntkrnlmp.pdb/0123456789ABCDEF0123456789ABCDEF2/ntkrnlmp.pdb',
  });
  t.false(e.message.includes('\n'));
  t.regex(e.message, /ntkrnlmp\.pdb\/0123456789ABCDEF0123456789ABCDEF2\/ntkrnlmp\.pdb/);
  t.true(e.tried.some((x) => x.step === 'builtin-build' && x.result === 'not-found'));
});

/** A local symbol server serving the real exceptions-test.pdb in store layout; counts requests. */
async function withServer(fn: (base: string, hits: string[]) => Promise<void>): Promise<void> {
  const pdb = readFileSync(join(REAL, 'exceptions-test.pdb'));
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    if (req.url === `/${storeRelPath(EXC)}`) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': pdb.length });
      res.end(pdb);
    } else if (req.url === `/${storeRelPath({ ...EXC, name: 'notapdb.pdb' })}`) {
      res.writeHead(200);
      res.end('<html>proxy login</html>');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    await fn(base, hits);
  } finally {
    await new Promise((ok) => server.close(ok));
  }
}

test('symbol-server download: GET <url>/<pdb>/<GUID><AGEHEX>/<pdb>, stored in the cache; 404 and non-PDB bodies refused', async (t) => {
  await withServer(async (base, hits) => {
    const cache = join(TMP, 'dl-cache');
    const ok = await downloadPdb(base, EXC, cache);
    t.true(ok.ok, ok.reason);
    t.is(ok.url, `${base}exceptions-test.pdb/2A7ED8A5D796443D80CF7200044EDF833/exceptions-test.pdb`);
    t.is(ok.path, join(cache, 'exceptions-test.pdb', '2A7ED8A5D796443D80CF7200044EDF833', 'exceptions-test.pdb'));
    t.true(readFileSync(ok.path!).equals(readFileSync(join(REAL, 'exceptions-test.pdb'))));
    t.deepEqual(findInDirectory(cache, EXC).map((c) => c.kind), ['pdb']);

    const missing = await downloadPdb(base, { ...EXC, age: 9 }, cache);
    t.false(missing.ok);
    t.regex(missing.reason ?? '', /HTTP 404/);
    const html = await downloadPdb(base, { ...EXC, name: 'notapdb.pdb' }, cache);
    t.false(html.ok);
    t.regex(html.reason ?? '', /not an MSF 7\.0 PDB/);
    t.false(existsSync(join(cache, ...storeRelPath({ ...EXC, name: 'notapdb.pdb' }).split('/'))));
    t.true(hits.length >= 3);
  });
});

test('resolveSymbols downloads only from a named server', async (t) => {
  await withServer(async (base, hits) => {
    // No --symbol-server: no request at all, even on a miss.
    await t.throwsAsync(resolveSymbols(EXC, undefined, { ...NO_ENV, cacheDir: join(TMP, 'c7') }), { instanceOf: KernelSymbolsNeededError });
    t.is(hits.length, 0);
    const err = (await t.throwsAsync(
      resolveSymbols(EXC, undefined, { ...NO_ENV, symbolServer: base, cacheDir: join(TMP, 'c7') }),
      { instanceOf: KernelSymbolsNeededError },
    )) as KernelSymbolsNeededError;
    t.deepEqual(hits, [`GET /${storeRelPath(EXC)}`]);
    const dl = err.tried.find((x) => x.step === 'server');
    t.is(dl?.result, 'matched');
    t.regex(dl?.detail ?? '', /downloaded 1314816 bytes/);
    t.true(existsSync(join(TMP, 'c7', ...storeRelPath(EXC).split('/'))));
    // The URL in the error names the server the user gave.
    t.is(err.wanted.url, `${base.replace(/\/$/, '')}/${storeRelPath(EXC)}`);
    // A srv*STORE*URL entry in _NT_SYMBOL_PATH names a server too; the stored copy is found next time without a request.
    const store = join(TMP, 'srv-store');
    await t.throwsAsync(resolveSymbols(EXC, undefined, { ntSymbolPath: `srv*${store}*${base}`, cacheDir: join(TMP, 'c8') }));
    t.is(hits.length, 2);
    t.true(existsSync(join(store, ...storeRelPath(EXC).split('/'))));
    await t.throwsAsync(resolveSymbols(EXC, undefined, { ntSymbolPath: `srv*${store}`, cacheDir: join(TMP, 'c8') }));
    t.is(hits.length, 2);
  });
});

// The LLVM-built kernel-like fixture (test/fixtures/pdb: fake_nt.c → ntoskrnl.exe + ntkrnlmp.pdb).
const FIX = new URL('./fixtures/pdb/', import.meta.url).pathname;
const LLVM = { name: 'ntkrnlmp.pdb', guid: 'ECE13B796CA55D704C4C44205044422E', age: 1 };

test('--symbols PDB (LLVM-written) is read with our PDB reader and matched by GUID-age', async (t) => {
  const r = await resolveSymbols(LLVM, undefined, { ...NO_ENV, symbols: [join(FIX, 'ntkrnlmp.pdb')], cacheDir: join(TMP, 'c9') });
  t.true(r.exact);
  t.is(r.layout.source.kind, 'pdb');
  t.deepEqual(r.layout.pdb, LLVM);
  t.is(r.layout.symbols.PsActiveProcessHead, 0x3000);
  // The same PDB against another kernel is a mismatch, not a silent use.
  const e = (await t.throwsAsync(resolveSymbols({ ...LLVM, age: 2 }, undefined, { ...NO_ENV, symbols: [join(FIX, 'ntkrnlmp.pdb')], cacheDir: join(TMP, 'c9') }))) as KernelSymbolsNeededError;
  t.is(e.tried[0].result, 'mismatch');
});

test('a kernel PDB downloaded from a local symbol server is stored and used', async (t) => {
  const pdb = readFileSync(join(FIX, 'ntkrnlmp.pdb'));
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === `/syms/${storeRelPath(LLVM)}`) {
      res.writeHead(200, { 'content-length': pdb.length });
      res.end(pdb);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/syms`;
  try {
    const cache = join(TMP, 'c10');
    const r = await resolveSymbols(LLVM, undefined, { ...NO_ENV, symbolServer: base, cacheDir: cache });
    t.true(r.exact);
    t.regex(r.source, /downloaded from http:\/\/127\.0\.0\.1:\d+\/syms\/ntkrnlmp\.pdb\/ECE13B796CA55D704C4C44205044422E1\/ntkrnlmp\.pdb/);
    t.is(r.layout.symbols.PsActiveProcessHead, 0x3000);
    t.deepEqual(hits, [`/syms/${storeRelPath(LLVM)}`]);
    // Second run: found in the cache, no request.
    const again = await resolveSymbols(LLVM, undefined, { ...NO_ENV, symbolServer: base, cacheDir: cache });
    t.regex(again.source, /download cache/);
    t.is(hits.length, 1);
  } finally {
    await new Promise((ok) => server.close(ok));
  }
});
