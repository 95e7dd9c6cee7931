// Each sink's escaping with hostile strings: HTML text and attributes, the terminal, CSV, JSON.
import test from 'ava';
import { csvCell, displayWidth, htmlAttr, htmlText, jsonStringify, scriptJson, terminalText, wellFormed } from '../src/reports/sanitize.ts';

const HOSTILE = [
  '<img src=x onerror=alert(1)>',
  '"><script>alert(1)</script>',
  "' onmouseover='alert(1)",
  '`=alert(1)',
  '\u001b[31mred\u001b[0m',
  '\u001b]8;;http://evil/\u0007link\u001b]8;;\u0007',
  '\u009b2J', // 8-bit CSI
  'a\rOVERWRITE\bX\u0000\u007f',
  'abc\u202eexe.txt\u2066\u200b\ufeff',
  'line\u2028sep',
  'lone \ud800 surrogate \udc00',
];

test('htmlText leaves no markup and no control character', (t) => {
  for (const s of HOSTILE) {
    const out = htmlText(s);
    t.false(/[<>"']/.test(out), out);
    t.false(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(out), out);
    t.false(/[\ud800-\udfff]/.test(out), out);
  }
  t.is(htmlText('<img src=x onerror=alert(1)>'), '&lt;img src=x onerror=alert(1)&gt;');
  t.is(htmlText('a & b'), 'a &amp; b');
});

test('htmlAttr also escapes backtick and equals', (t) => {
  for (const s of HOSTILE) t.false(/[<>"'`=]/.test(htmlAttr(s)), htmlAttr(s));
  t.is(htmlAttr('a"b'), 'a&#34;b');
});

test('terminalText: no ESC, no C0/C1, no bidi override reaches the terminal, and they stay visible', (t) => {
  for (const s of HOSTILE) {
    const out = terminalText(s);
    t.false(out.includes('\u001b'));
    t.false(/[\u0000-\u001f\u007f-\u009f]/.test(out), JSON.stringify(out));
    t.false(/[\u202a-\u202e\u2066-\u2069\u200b\ufeff\u2028]/.test(out));
  }
  t.is(terminalText('\u001b[31mred'), '\\x1b[31mred');
  t.is(terminalText('a\u202eb'), 'a\\u202eb');
  t.is(terminalText('\u009b'), '\\x9b');
  t.is(terminalText('LsaIso.exe'), 'LsaIso.exe');
  t.is(terminalText('日本語.exe'), '日本語.exe');
});

test('csvCell neutralises formulas and quotes', (t) => {
  t.is(csvCell('=cmd|\' /C calc\'!A0'), "'=cmd|' /C calc'!A0");
  t.is(csvCell('+1'), "'+1");
  t.is(csvCell('-1+2'), "'-1+2");
  t.is(csvCell('@SUM(A1)'), "'@SUM(A1)");
  t.is(csvCell('\tx'), "'\tx");
  t.is(csvCell('a,b'), '"a,b"');
  t.is(csvCell('say "hi"'), '"say ""hi"""');
  t.is(csvCell('=a,b'), `"'=a,b"`);
  t.is(csvCell(-5), '-5', 'numbers are data, not formulas');
  t.is(csvCell(null), '');
});

test('JSON output is valid UTF-8 and parses back', (t) => {
  for (const s of HOSTILE) {
    const text = jsonStringify({ s });
    t.is(Buffer.from(text, 'utf8').toString('utf8'), text);
    t.is((JSON.parse(text) as { s: string }).s, wellFormed(s));
  }
  t.is(wellFormed('a\ud800b\udc00c\ud83d\ude00'), 'a\ufffdb\ufffdc\ud83d\ude00');
});

test('scriptJson cannot close a script element', (t) => {
  const out = scriptJson({ s: '</script><script>alert(1)</script><!--' });
  t.false(/[<>]/.test(out));
  t.deepEqual(JSON.parse(out), { s: '</script><script>alert(1)</script><!--' });
});

test('displayWidth counts wide and combining characters', (t) => {
  t.is(displayWidth('abc'), 3);
  t.is(displayWidth('日本'), 4);
  t.is(displayWidth('e\u0301'), 1);
});
