// `vsm-forensics symbols convert`: the CLI end to end, as a user runs it.
import test from 'ava';
import { BIN, cli } from './helpers/cli.ts';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadIsfFile, IsfTypes } from '../src/ntos/isf.ts';
import { layoutFromIsf } from '../src/ntos/layout.ts';
import { layoutFromPdbFile } from '../src/ntos/pdb-layout.ts';
import { ExitCode } from '../src/errors.ts';

const PDB = new URL('./fixtures/pdb/ntkrnlmp.pdb', import.meta.url).pathname;
const TMP = new URL('./.tmp/pdb-convert/', import.meta.url).pathname;
rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });


test('symbols convert writes .json.xz that reads back to the PDB layout (other formats: pdb-llvm round trip)', async (t) => {
  const direct = layoutFromPdbFile(PDB);
  for (const ext of ['json.xz']) {
    const out = `${TMP}fake.${ext}`;
    const r = await cli('symbols', 'convert', PDB, '-o', out);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /ntkrnlmp\.pdb \{[0-9A-F-]{36}\} age 1, \d+ types/);
    t.regex(r.stdout, /Volatility path: windows\/ntkrnlmp\.pdb\/[0-9A-F]{32}-1\.json\.xz/);
    const magic = readFileSync(out).subarray(0, 2).toString('hex');
    t.is(magic, ext === 'json.xz' ? 'fd37' : ext === 'json.gz' ? '1f8b' : '7b22');
    const doc = loadIsfFile(out);
    t.is(doc.metadata.format, '6.1.0');
    t.is(doc.metadata.producer?.name, 'vsm-forensics');
    t.deepEqual(layoutFromIsf(new IsfTypes(doc), { kind: 'pdb', path: PDB }).fields, direct.fields);
  }
});

test('symbols convert: bad input and bad output names give one-line errors and distinct exit codes', async (t) => {
  const notPdb = await cli('symbols', 'convert', BIN, '-o', `${TMP}x.json`);
  t.is(notPdb.code, ExitCode.BadInput);
  t.regex(notPdb.stderr, /not an MSF 7\.0 PDB/);
  t.is(notPdb.stderr.trim().split('\n').length, 1);
  const missing = await cli('symbols', 'convert', `${TMP}nope.pdb`, '-o', `${TMP}x.json`);
  t.is(missing.code, ExitCode.BadInput);
  const badName = await cli('symbols', 'convert', PDB, '-o', `${TMP}x.txt`);
  t.is(badName.code, ExitCode.BadInput);
  t.regex(badName.stderr, /\.json, \.json\.xz or \.json\.gz/);
  const usage = await cli('symbols', 'convert', PDB);
  t.is(usage.code, ExitCode.Usage);
});

test('symbols convert --pdb-name sets the database name Volatility matches against the kernel RSDS', async (t) => {
  const renamed = `${TMP}kernel-19041-copy.pdb`;
  copyFileSync(PDB, renamed);
  const out = `${TMP}named.json.xz`;
  const plain = await cli('symbols', 'convert', renamed, '-o', out);
  t.regex(plain.stdout, /windows\/kernel-19041-copy\.pdb\//);
  const r = await cli('symbols', 'convert', renamed, '-o', out, '--pdb-name', 'ntkrnlmp.pdb');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Volatility path: windows\/ntkrnlmp\.pdb\//);
  t.is(loadIsfFile(out).metadata.windows?.pdb?.database, 'ntkrnlmp.pdb');
});
