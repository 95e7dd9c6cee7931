// The streamed JSON writer must equal jsonStringify(value, 2) byte for byte, whatever the value.
import test from 'ava';
import { jsonChunks, STREAM_CHUNK_UNITS, STREAM_DEPTH } from '../src/reports/json-stream.ts';
import { buildReport, renderJson, renderJsonChunks, renderNdjson, renderNdjsonLines } from '../src/reports/index.ts';
import { jsonStringify } from '../src/reports/sanitize.ts';
import { Rng } from '../samples/rng.ts';
import { credentialGuard, evidenceInfo, exposed, hostile, partial, runInfo } from './reports-fixtures.ts';

const ODD_STRINGS = ['', 'plain', 'line\nbreak', 'tab\t"quote"\\', '\u2028sep\u2029', '\ud800lone', 'pair\ud83d\ude00', '<img src=x onerror=alert(1)>', '\u0000\u001b[31m'];

function randomValue(rng: Rng, depth: number): unknown {
  const kind = rng.int(0, depth > 6 ? 6 : 10); // [lo, hi)
  switch (kind) {
    case 0: return null;
    case 1: return rng.int(-1e6, 1e6) / (rng.int(0, 2) === 1 ? 7 : 1);
    case 2: return ODD_STRINGS[rng.int(0, ODD_STRINGS.length)];
    case 3: return rng.int(0, 2) === 1;
    case 4: return [undefined, Number.NaN, Infinity, () => 1][rng.int(0, 4)];
    case 5: return rng.int(0, 2) === 1 ? [] : {};
    case 6: case 7: return Array.from({ length: rng.int(0, 6) }, () => randomValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(0, 6); i > 0; i--) o[ODD_STRINGS[rng.int(0, ODD_STRINGS.length)] + i] = randomValue(rng, depth + 1);
      return o;
    }
  }
}

test('random nested values: the pieces join to exactly jsonStringify(value, 2)', (t) => {
  const rng = new Rng(2026);
  let deep = 0;
  for (let i = 0; i < 3000; i++) {
    const v = { root: randomValue(rng, 0), list: [randomValue(rng, 0), randomValue(rng, 0)] };
    const text = JSON.stringify(v) ?? '';
    if ((text.match(/[[{]/g) ?? []).length > STREAM_DEPTH) deep++;
    t.is([...jsonChunks(v)].join(''), jsonStringify(v, 2), `value ${i}`);
  }
  t.true(deep > 100, 'values deeper than the streamed depth were covered');
});

test('reports: the streamed JSON and NDJSON equal the whole-string renderers, in bounded pieces', (t) => {
  for (const analysis of [credentialGuard(), exposed(), partial(), hostile()]) {
    const report = buildReport(analysis, runInfo(), evidenceInfo());
    t.is([...renderJsonChunks(report)].join(''), jsonStringify(report, 2) + '\n');
    t.is(renderJson(report), jsonStringify(report, 2) + '\n');
    t.is([...renderNdjsonLines(report)].join(''), renderNdjson(report));
  }
  // A report with many processes comes out in many pieces, none far above the chunk size.
  const big = buildReport(credentialGuard(), runInfo(), evidenceInfo());
  const many = { ...big, processes: Array.from({ length: 4000 }, (_, i) => ({ ...big.processes[i % big.processes.length], pid: i * 4 })) };
  const chunks = [...jsonChunks(many)];
  t.true(chunks.length > 10);
  t.true(Math.max(...chunks.map((c) => c.length)) < STREAM_CHUNK_UNITS * 2);
  t.is(chunks.join(''), jsonStringify(many, 2));
});
