import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IsfTypes, loadIsfFile } from '../src/ntos/isf.ts';
import { layoutFromIsf, LAYOUT_FIELDS, type LayoutFieldKey } from '../src/ntos/layout.ts';
import { builtinByBuild, builtinByPdb, checkTable, encodeTable, entriesOfLines, layoutTable, layoutTableLoadMs, tableSummary } from '../src/ntos/layout-table.ts';

const ISF_DIR = new URL('../../shared/data/isf/windows/ntkrnlmp.pdb/', import.meta.url).pathname;
const isfFiles = readdirSync(ISF_DIR).filter((f) => /\.json(\.xz|\.gz)?$/.test(f));
const isfLayouts = isfFiles.map((f) => layoutFromIsf(new IsfTypes(loadIsfFile(join(ISF_DIR, f))), { kind: 'isf', path: f }));

test('the committed table holds the JPCERTCC kernels', (t) => {
  const tab = layoutTable();
  const s = tableSummary();
  t.log(`${s.kernels} kernels, builds ${s.builds.join(', ')}, ${s.layouts} layouts, loaded in ${layoutTableLoadMs().toFixed(1)} ms`);
  t.true(s.kernels >= 200);
  t.is(s.source.license, 'BSD-3-Clause');
  t.regex(s.source.commit ?? '', /^[0-9a-f]{40}$/);
  t.true(layoutTableLoadMs() > 0, 'the first load was timed');
  for (const b of [14393, 17763, 18362, 19041, 20348, 22000]) t.truthy(tab.builds[String(b)], `build ${b}`);
  // KUSER_SHARED_DATA.NtBuildNumber is what raw-image discovery reads without symbols: fixed everywhere.
  for (const l of tab.layouts) if (l.fields['KUSER_SHARED_DATA.NtBuildNumber']) t.deepEqual(l.fields['KUSER_SHARED_DATA.NtBuildNumber'], [0x260, 4]);
});

test('the committed table is whole (the analysis checks only the entries it uses), and a damaged entry fails the check by name', (t) => {
  const doc = JSON.parse(readFileSync(new URL('../src/ntos/data/layouts.json', import.meta.url), 'utf8'));
  t.notThrows(() => checkTable(doc));
  const kernel = Object.keys(doc.kernels)[0];
  const damaged = [
    [(d: any) => (d.layouts[0].fields['EPROCESS.Pcb'] = [-1, 8]), /bad field EPROCESS\.Pcb/],
    [(d: any) => (d.layouts[0].sizes['_EPROCESS'] = 1.5), /bad size _EPROCESS/],
    [(d: any) => (d.kernels[kernel].layout = d.layouts.length), new RegExp(`bad kernel ${kernel}`)],
    [(d: any) => (d.builds['19041'].layout = -1), /bad build 19041/],
    [(d: any) => (d.format = 'other/1'), /format is not/],
  ] as const;
  for (const [damage, message] of damaged) {
    const copy = structuredClone(doc);
    damage(copy);
    t.throws(() => checkTable(copy), { message });
  }
});

test('read line by line, the committed table gives every entry the whole parse gives; another shape is not read so', (t) => {
  const text = readFileSync(new URL('../src/ntos/data/layouts.json', import.meta.url), 'utf8');
  const doc = checkTable(JSON.parse(text));
  t.is(encodeTable(doc), text, 'the file is in encodeTable\'s shape');
  const lines = entriesOfLines(text)!;
  t.truthy(lines);
  t.is(lines.layouts, doc.layouts.length);
  doc.layouts.forEach((l, i) => t.deepEqual(lines.layout(i), l, `layout ${i}`));
  for (const [k, e] of Object.entries(doc.kernels)) t.deepEqual(lines.kernel(k), e, k);
  for (const [k, b] of Object.entries(doc.builds)) t.deepEqual(lines.build(k), b, k);
  t.is(lines.kernel('00000000000000000000000000000000-1'), undefined);
  t.is(lines.build('1'), undefined);
  t.is(lines.layout(doc.layouts.length), undefined);
  t.is(entriesOfLines(JSON.stringify(doc, null, 2)), undefined);
  t.is(entriesOfLines(text.replace('vsm-forensics-layout-table/1', 'other/1')), undefined);
});

test('for every ISF in ../shared/data/isf the ISF reader and the exact table entry agree', (t) => {
  t.is(isfFiles.length, 7);
  for (const isf of isfLayouts) {
    const id = isf.pdb!;
    const b = builtinByPdb(id.guid, id.age);
    t.truthy(b, `${id.guid}-${id.age} in table`);
    if (!b) continue;
    t.deepEqual(b.fields, isf.fields, `${id.guid} fields`);
    t.deepEqual(b.sizes, isf.sizes, `${id.guid} sizes`);
    t.deepEqual(b.symbols, isf.symbols, `${id.guid} symbols`);
    t.deepEqual(b.source, { kind: 'builtin', key: `${id.guid}-${id.age}`, exact: true });
    t.is(b.pdb?.name, 'ntkrnlmp.pdb');
  }
  // The versions SOURCES.md documents.
  t.is(builtinByPdb('5278AFF86C341677D7D7835C85B7B844', 1)?.version, '10.0.19041.804');
  t.is(builtinByPdb('DBBC830E3E9A48FDA25A2144C146930E', 1)?.build, 14393);
  t.is(builtinByPdb('5278aff86c341677d7d7835c85b7b844', 1)?.build, 19041, 'GUID case does not matter');
  t.is(builtinByPdb('5278AFF86C341677D7D7835C85B7B844', 2), undefined, 'another age is another kernel');
});

test('the build entry carries the same offsets as each real ISF of that build, and no RVAs', (t) => {
  for (const isf of isfLayouts) {
    const exact = builtinByPdb(isf.pdb!.guid, isf.pdb!.age)!;
    const byBuild = builtinByBuild(exact.build!);
    t.truthy(byBuild);
    if (!byBuild) continue;
    t.deepEqual(byBuild.source, { kind: 'builtin', key: `build:${exact.build}`, exact: false });
    t.deepEqual(byBuild.symbols, {});
    for (const k of Object.keys(LAYOUT_FIELDS) as LayoutFieldKey[]) t.deepEqual(byBuild.fields[k], isf.fields[k], `${exact.build} ${k}`);
    // Later revisions grow EPROCESS; the build keeps the smallest, which every read field fits in.
    const ep = byBuild.sizes._EPROCESS!;
    t.true(ep <= isf.sizes._EPROCESS!);
    for (const [k, f] of Object.entries(byBuild.fields)) if (k.startsWith('EPROCESS.')) t.true(f.offset + f.size <= ep, k);
  }
});

test('builds of one kernel family map to it; unknown builds are absent', (t) => {
  t.is(builtinByBuild(19045)?.fields['EPROCESS.UniqueProcessId']?.offset, 0x440);
  t.deepEqual(builtinByBuild(19045)?.source, { kind: 'builtin', key: 'build:19041 (for 19045)', exact: false });
  t.is(builtinByBuild(26100), undefined);
  t.is(builtinByBuild(0), undefined);
  // Within-build disagreements are recorded, never silently merged.
  const d = layoutTable().builds['17763'].disagreements;
  t.truthy(d?.['sizeof _EPROCESS']);
});
