// `vsm-forensics synth`: writes the dump and its truth, and refuses bad options with exit 64.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TMP = fileURLToPath(new URL('./.tmp/samples-cli/', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/vsm-forensics.js', import.meta.url));
rmSync(TMP, { recursive: true, force: true });
const synth = (...args: string[]) => spawnSync(process.execPath, [BIN, 'synth', ...args], { encoding: 'utf8' });

test('synth writes a dump of the requested form and size, and its truth', (t) => {
  const out = `${TMP}cg.dmp`;
  const r = synth('--scenario', 'vsm-off', '--form', 'raw', '--size', '16MiB', '--seed', '3', '-o', out);
  t.is(r.status, 0, r.stderr);
  t.is(statSync(out).size, 16 * 2 ** 20);
  const truth = JSON.parse(readFileSync(`${out}.truth.json`, 'utf8'));
  t.is(truth.scenario, 'vsm-off');
  t.is(truth.form, 'raw');
  t.is(truth.vsm.verdict, 'not-running');
  t.regex(r.stdout, /verdict not-running/);
});

test('synth --isf picks another real layout; --truncate cuts the file', (t) => {
  const out = `${TMP}b17763.dmp`;
  const r = synth('--isf', '17763', '--form', 'bitmap', '--size', '16MiB', '--truncate', '0.5', '-o', out);
  t.is(r.status, 0, r.stderr);
  const truth = JSON.parse(readFileSync(`${out}.truth.json`, 'utf8'));
  t.is(truth.build, 17763);
  t.truthy(truth.memory.truncated);
  t.is(statSync(out).size, truth.memory.truncated.fileSize);
});

test('synth refuses bad options with the usage exit code and one line', (t) => {
  for (const args of [
    ['--scenario', 'no-such-scenario'],
    ['--size', '1MiB'],
    ['--size', 'lots'],
    ['--isf', '12345'],
    ['--truncate', '2'],
  ]) {
    const out = `${TMP}bad.dmp`;
    const r = synth(...args, '-o', out);
    t.is(r.status, 64, args.join(' '));
    const lines = r.stderr.trim().split('\n');
    t.is(lines.length, 2, `${args.join(' ')}: one message line and the usage hint`);
    t.regex(lines[1], /^usage: vsm-forensics synth/);
    t.false(existsSync(out), args.join(' '));
  }
});
