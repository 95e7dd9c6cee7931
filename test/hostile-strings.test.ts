// No injection through dump strings, per sink. Every string the evidence (or the examiner's file
// system) controls: process names, image paths, trustlet names, finding messages and evidence
// values, partial reasons, the PDB name and symbols source, the dump comment, the evidence path
// and file name, the case/examiner/command line. Each is filled with hostile payloads and rendered
// by the real renderers: HTML (text and attributes), the terminal (with and without colour), JSON
// and ECS NDJSON. A benign twin of the same shape and string lengths gives the expected structure.
// Then the whole pipeline: a synthetic dump whose processes carry payloads, analysed by the CLI.
// (No CSV is written anywhere in src/, so there is no CSV sink to test.)
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from '../samples/generate.ts';
import { buildReport, renderHtml, renderJson, renderNdjson, renderTerminal } from '../src/reports/index.ts';
import type { Analysis } from '../src/vsm/types.ts';
import { evidenceInfo, exposed, runInfo } from './reports-fixtures.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const TMP = new URL('./.tmp/hostile-strings/', import.meta.url).pathname;

/** Payloads aimed at each sink; several at once in one string too. */
const PAYLOADS = [
  '<img src=x onerror=alert(1)>',
  '"><script>alert(2)</script>',
  "' onmouseover='alert(3)' x='",
  '</script><script>alert(4)</script><!--',
  '</style><svg onload=alert(5)>',
  '`=alert(6)` & &amp; &#60;',
  'javascript:alert(7)',
  '\u001b[31mred\u001b[0m\u001b[2J\u001b[H',
  '\u001b]0;pwned\u0007\u001b]8;;http://evil.example/\u0007link\u001b]8;;\u0007',
  '\u009b31m C1 CSI \u0085 NEL \u0090 DCS',
  'over\rwrite\bback\u0000nul\ttab\u000bvt\u000cff',
  'line\nbreak\u2028ls\u2029ps',
  'bidi \u202eexe.txt\u202c \u2066iso\u2069 \u200f\u061c',
  'zero\u200bwidth\ufeffbom\u00adshy',
  'lone \ud800 high and \udfff low surrogates',
  '=HYPERLINK("http://evil.example","x")',
  '+cmd|\' /C calc\'!A0',
  '@SUM(1+1)*cmd|x',
  '-2+3+cmd|x',
  '\\Device\\HarddiskVolume3\\Users\\<b>x</b>\\"quoted"\\\'single\'.exe',
  '{"json":"break"}\\"\\u0000',
  '😀 ＷＩＤＥ 中文 e\u0301',
];

/** A benign twin: same length in UTF-16 code units, distinct per field, nothing special. */
function benign(s: string, i: number): string {
  return `b${i}x`.padEnd(s.length, 'b').slice(0, Math.max(s.length, 1));
}

type Mapper = (s: string, i: number) => string;

/** The analysis, evidence and run info with every evidence-controlled string replaced through `f`. */
/** One fixture for every render (the fixture hands out fresh EPROCESS addresses per call). */
const BASE = exposed();

function model(f: Mapper): { analysis: Analysis; evidence: ReturnType<typeof evidenceInfo>; run: ReturnType<typeof runInfo> } {
  const a = structuredClone(BASE) as unknown as {
    processes: Array<{ name: { text: string; rawHex?: string }; imagePath: { text: string } | null; trustlet: { name: string | null } | null; isolation?: { reason: string } }>;
    findings: Array<{ message: string; evidence: Record<string, unknown> }>;
    partial: { partial: boolean; reasons: string[]; missingRanges: Array<{ reason: string }> };
    kernel: { pdb: { name: string } | null; symbolsSource: string };
    vsm: { reason: string; posture: { evidence: string[] } };
  };
  let i = 0;
  const next = () => f(PAYLOADS[i % PAYLOADS.length]!, i++);
  for (const p of a.processes) {
    p.name.text = next();
    p.name.rawHex = Buffer.from(p.name.text, 'latin1').toString('hex');
    if (p.imagePath) p.imagePath.text = next();
    if (p.trustlet) p.trustlet.name = next();
    if (p.isolation) p.isolation.reason = next();
  }
  for (const x of a.findings) {
    x.message = next();
    x.evidence = { ...x.evidence, note: next() };
  }
  a.partial = { partial: true, reasons: [next(), next()], missingRanges: [{ ...{ start: '0x1000', pages: 1 }, reason: next() }] };
  a.kernel.pdb = { ...(a.kernel.pdb ?? { guid: '0'.repeat(32), age: 1 }), name: next() };
  a.kernel.symbolsSource = `isf:${next()}`;
  a.vsm.reason = next();
  a.vsm.posture = { ...a.vsm.posture, evidence: [next()] };
  const evidence = evidenceInfo({ path: `/cases/${next()}/MEMORY.DMP`, fileName: next(), comment: next() });
  const run = runInfo({ case: next(), examiner: next(), commandLine: `vsm-forensics analyze ${next()}`, host: next() });
  return { analysis: a as unknown as Analysis, evidence, run };
}

function render(f: Mapper) {
  const m = model(f);
  const report = buildReport(m.analysis, m.run, m.evidence);
  return {
    html: renderHtml(report),
    json: renderJson(report),
    ndjson: renderNdjson(report),
    plain: renderTerminal(report, { color: false }),
    color: renderTerminal(report, { color: true }),
  };
}

const hostile = render((s) => s);
const twin = render((s, i) => benign(s, i));

// ------------------------------------------------------------------------------------------------
// HTML

/** Tag skeleton: each tag's name and attribute names, in order; fails on a tag whose attributes do not tokenize. */
function skeleton(html: string): { tags: string[]; broken: string[] } {
  const tags: string[] = [];
  const broken: string[] = [];
  // Script and style bodies are not markup.
  const body = html.replace(/(<(script|style)\b[^>]*>)[\s\S]*?(<\/\2>)/gi, '$1$3');
  for (const m of body.matchAll(/<\/?([a-zA-Z][\w-]*)([^>]*)>/g)) {
    const attrs = m[2]!;
    const names: string[] = [];
    const rest = attrs.replace(/\s+([^\s"'>\/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g, (_x, n: string) => {
      names.push(n.toLowerCase());
      return '';
    });
    if (rest.replace(/\s*\/?\s*$/, '') !== '') broken.push(m[0].slice(0, 120));
    tags.push(`${m[0].startsWith('</') ? '/' : ''}${m[1]!.toLowerCase()}[${names.join(',')}]`);
  }
  return { tags, broken };
}

test('HTML: hostile strings add no element, attribute, script or event handler', (t) => {
  const h = skeleton(hostile.html);
  const b = skeleton(twin.html);
  t.deepEqual(h.broken, [], 'every tag tokenizes into quoted attributes');
  t.deepEqual(h.tags, b.tags, 'same tags and attributes as the benign twin');
  t.is((hostile.html.match(/<script\b/gi) ?? []).length, (twin.html.match(/<script\b/gi) ?? []).length);
  t.false(h.tags.some((x) => /[[,]on[a-z]+[,\]]/.test(x)), 'no on* attribute');
  t.false(/\b(href|src|action)\s*=\s*["']?\s*javascript:/i.test(hostile.html), 'no javascript: URL');
});

test('HTML: text and attribute values show the payloads escaped, never raw', (t) => {
  const html = hostile.html;
  for (const raw of ['<img src=x onerror', '<script>alert(', '<svg onload', '</style><svg', '"><script', "' onmouseover='"]) t.false(html.includes(raw), `raw ${JSON.stringify(raw)} in the HTML`);
  t.true(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'a name appears as escaped text');
  // Control, bidi and invisible characters never reach the page as themselves.
  t.false(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff\u2028\u2029]/.test(html));
  t.true(html.includes('\\x1b[31m'), 'ESC is shown visibly');
  // Every inline script body is free of anything that could end it or open a comment.
  for (const m of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)) t.false(/<\/?script|<!--|-->/i.test(m[1]!), 'script block stays closed');
  // Attributes: the data-v sort keys and titles carry the (escaped) payloads; none holds a raw quote or angle bracket.
  const attrValues = [...html.matchAll(/\s(?:title|data-v|aria-label|alt)="([^"]*)"/g)].map((m) => m[1]!);
  t.true(attrValues.some((v) => v.includes('&#')), 'payloads reach attributes, escaped');
  for (const v of attrValues) t.false(/[<>'`]/.test(v), `attribute value ${v.slice(0, 60)}`);
  t.false(/[\ud800-\udfff]/.test(html.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')), 'no lone surrogate');
});

// ------------------------------------------------------------------------------------------------
// Terminal

const TERMINAL_BAD = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u2028\u2029]/;
const SGR = /\u001b\[[0-9;]*m/g;

test('terminal: no control character, escape sequence or bidi override from the evidence reaches the tty', (t) => {
  t.false(TERMINAL_BAD.test(hostile.plain), 'plain output holds a control/bidi character');
  t.false(/[\ud800-\udfff]/.test(hostile.plain.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')), 'no lone surrogate');
  t.true(hostile.plain.includes('\\x1b'), 'ESC shown visibly');
  // With colour, only our own SGR sequences remain, exactly as many as for the benign twin.
  const colourless = hostile.color.replace(SGR, '');
  t.false(TERMINAL_BAD.test(colourless), 'coloured output holds a control character besides SGR');
  t.is((hostile.color.match(SGR) ?? []).length, (twin.color.match(SGR) ?? []).length);
  t.is(hostile.plain.split('\n').length, twin.plain.split('\n').length, 'payload line breaks add no line');
});

// ------------------------------------------------------------------------------------------------
// JSON and NDJSON

function validUtf8(s: string): boolean {
  return Buffer.from(s, 'utf8').toString('utf8') === s && !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
}

test('JSON: valid UTF-8, parses, and keeps the payloads as data (lone surrogates replaced, nothing dropped)', (t) => {
  t.true(validUtf8(hostile.json));
  const r = JSON.parse(hostile.json) as { processes: Array<{ name: { text: string } }>; evidence: { fileName: string } };
  const names = r.processes.map((p) => p.name.text);
  t.true(names.includes(PAYLOADS[0]!), 'HTML payload kept verbatim in JSON');
  t.true(names.some((n) => n.includes('\u001b[31m')), 'ESC kept as data (JSON escapes it)');
  t.false(hostile.json.includes('\u001b'), 'but never as a raw byte');
  t.true(JSON.stringify(r).includes('\ufffd'), 'lone surrogates became U+FFFD');
  t.is(r.processes.length, (JSON.parse(twin.json) as { processes: unknown[] }).processes.length);
});

test('NDJSON: one valid UTF-8 JSON event per line; payload line breaks add no line', (t) => {
  t.true(validUtf8(hostile.ndjson));
  const lines = hostile.ndjson.split('\n').filter(Boolean);
  t.is(lines.length, twin.ndjson.split('\n').filter(Boolean).length);
  for (const l of lines) {
    t.notThrows(() => JSON.parse(l));
    // JSON escapes every C0 control; U+2028/9 are legal raw in JSON text and NDJSON splits on \n only.
    t.false(/[\u0000-\u001f]/.test(l), 'no raw control character inside a line');
  }
});

// ------------------------------------------------------------------------------------------------
// Random strings: any code unit sequence stays inside every sink's rules.

test('random code-unit strings never break a sink', (t) => {
  let state = 0x1234567;
  const rnd = () => ((state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const pool = [0x00, 0x07, 0x08, 0x0a, 0x0d, 0x1b, 0x22, 0x26, 0x27, 0x3c, 0x3e, 0x60, 0x7f, 0x85, 0x9b, 0xad, 0x2028, 0x202e, 0x2066, 0xd800, 0xdc00, 0xfeff, 0xfffe];
  for (let round = 0; round < 20; round++) {
    const out = render(() => {
      let s = '';
      const n = 1 + Math.floor(rnd() * 40);
      for (let k = 0; k < n; k++) s += String.fromCharCode(rnd() < 0.5 ? pool[Math.floor(rnd() * pool.length)]! : Math.floor(rnd() * 0x10000));
      return s;
    });
    t.deepEqual(skeleton(out.html).broken, []);
    t.false(/<script>alert|onerror=/.test(out.html));
    t.false(TERMINAL_BAD.test(out.plain));
    t.false(TERMINAL_BAD.test(out.color.replace(SGR, '')));
    t.true(validUtf8(out.json) && validUtf8(out.ndjson));
    t.notThrows(() => JSON.parse(out.json));
    for (const l of out.ndjson.split('\n').filter(Boolean)) JSON.parse(l);
  }
});

// ------------------------------------------------------------------------------------------------
// End to end: payloads written into a dump by the generator, read back by analyze.

test('pipeline: a dump whose processes carry payloads renders safely in every sink', (t) => {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
  const scenario = {
    extends: 'vsm-credential-guard',
    description: 'hostile-strings test: payloads in ImageFileName (15 latin1 bytes), image paths and command lines',
    addProcesses: [
      { pid: 9000, ppid: 4188, name: '<svg/onload=1>', start: 9600, session: 1, threads: 1, path: `\\Device\\HarddiskVolume3\\x\\${PAYLOADS[1]}${PAYLOADS[3]}.exe`, commandLine: PAYLOADS[2] },
      { pid: 9004, ppid: 4188, name: '\u001b[2J\u009b1m\rX\b.exe', start: 9601, session: 1, threads: 1, path: `\\Device\\HarddiskVolume3\\${PAYLOADS[7]}${PAYLOADS[8]}.exe` },
      { pid: 9008, ppid: 4188, name: '=cmd|x\u202eexe', start: 9602, session: 1, threads: 1, path: `\\Device\\HarddiskVolume3\\${PAYLOADS[10]}${PAYLOADS[11]}${PAYLOADS[12]}.exe` },
    ],
  };
  const scenarioPath = join(TMP, 'hostile-strings.json');
  writeFileSync(scenarioPath, JSON.stringify(scenario));
  const dump = generate({ scenario: scenarioPath, form: 'full', sizeBytes: 16 * 2 ** 20, seed: 7, out: join(TMP, 'hostile.dmp') }).dumpPath;
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', VSM_SYMBOL_CACHE: join(TMP, 'symbol-cache') };
  delete env._NT_SYMBOL_PATH;
  const o = join(TMP, 'report');
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'vsm-forensics.js'), 'analyze', dump, '--json', `${o}.json`, '--ndjson', `${o}.ndjson`, '--html', `${o}.html`, '--no-hash'], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  t.is(r.status, 0, r.stderr);
  const json = readFileSync(`${o}.json`, 'utf8');
  const report = JSON.parse(json) as { processes: Array<{ pid: number; name: { text: string }; imagePath: { text: string } | null }> };
  const byPid = new Map(report.processes.map((p) => [p.pid, p]));
  for (const pid of [9000, 9004, 9008]) t.truthy(byPid.get(pid), `PID ${pid} is in the report (not silently dropped)`);
  t.is(byPid.get(9000)!.name.text, '<svg/onload=1>');
  t.true(byPid.get(9000)!.imagePath!.text.includes('<script>alert(2)</script>'), 'the path is kept as data');
  t.true(validUtf8(json));
  const html = readFileSync(`${o}.html`, 'utf8');
  t.deepEqual(skeleton(html).broken, []);
  for (const raw of ['<svg/onload', '<script>alert(', "' onmouseover='"]) t.false(html.includes(raw), `raw ${raw} in the HTML`);
  t.false(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2028\u2029]/.test(html));
  t.is((html.match(/<script\b/gi) ?? []).length, (twin.html.match(/<script\b/gi) ?? []).length);
  const nd = readFileSync(`${o}.ndjson`, 'utf8');
  t.true(validUtf8(nd));
  for (const l of nd.split('\n').filter(Boolean)) t.notThrows(() => JSON.parse(l));
  t.false(TERMINAL_BAD.test(r.stdout), 'terminal output (stdout) holds a control character');
  t.true(r.stdout.includes('<svg/onload=1>') || r.stdout.includes('<svg/onload'), 'the name is shown (as text) on the terminal');
});

// ------------------------------------------------------------------------------------------------
// stderr: error messages quote paths and names from the evidence side.

test('stderr: an error about a file whose name carries escape sequences prints no control character', (t) => {
  const dir = join(TMP, 'stderr');
  mkdirSync(dir, { recursive: true });
  const evil = join(dir, 'evil\u001b]0;pwned\u0007\u001b[31mred\u009b2J\r.dmp');
  writeFileSync(evil, 'PAGEDUxx not a dump');
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const args of [['info', evil], ['info', `${evil}.missing`], ['analyze', evil, '--no-hash']]) {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'vsm-forensics.js'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
    t.true(r.status === 2 || r.status === 3, `${args[0]} exited ${r.status}`);
    t.true(r.stderr.length > 0);
    t.false(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(r.stderr), `raw control character on stderr: ${JSON.stringify(r.stderr)}`);
    if (r.stderr.includes('evil')) t.true(r.stderr.includes('\\x1b'), 'a quoted path shows its escape visibly');
  }
});
