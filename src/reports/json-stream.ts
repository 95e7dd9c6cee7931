// JSON text in pieces, equal byte for byte to `jsonStringify(value, 2)`: a report whose processes
// hold hundreds of thousands of handles is written without ever holding the whole text (a 50 MB
// string, twice over while it is built) in memory. Arrays and objects near the root are opened
// here; deeper values (one handle, one thread) are stringified whole by jsonStringify, so the
// escaping rules (well-formed UTF-8, U+2028/U+2029) are the same single implementation.
import { escapeLineSeparators, jsonStringify } from './sanitize.ts';

/** Containers this deep or shallower are written member by member; deeper ones in one piece. */
export const STREAM_DEPTH = 4;
/** Pieces are gathered into strings of about this many UTF-16 units before they are handed on. */
export const STREAM_CHUNK_UNITS = 1 << 16;

const INDENT = '  ';

/** What JSON.stringify does with a value before writing it: toJSON, and the types it leaves out. */
function prepared(value: unknown, key: string): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON: (k: string) => unknown }).toJSON(key);
  }
  return value;
}

function omitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

function* pieces(value: unknown, depth: number): Generator<string> {
  const pad = INDENT.repeat(depth);
  if (value === null || typeof value !== 'object' || depth >= STREAM_DEPTH) {
    // JSON.stringify indents nested lines from column 0: shift them to this depth (raw newlines
    // occur only between tokens; inside strings they are escaped).
    const text = jsonStringify(value, 2) ?? 'null';
    yield depth === 0 ? text : text.replace(/\n/g, `\n${pad}`);
    return;
  }
  const inner = pad + INDENT;
  if (Array.isArray(value)) {
    if (value.length === 0) return yield '[]';
    yield '[';
    for (let i = 0; i < value.length; i++) {
      yield `${i === 0 ? '' : ','}\n${inner}`;
      const v = prepared(value[i], String(i));
      yield* omitted(v) ? ['null'] : pieces(v, depth + 1);
    }
    return yield `\n${pad}]`;
  }
  let first = true;
  for (const [k, raw] of Object.entries(value as Record<string, unknown>)) {
    const v = prepared(raw, k);
    if (omitted(v)) continue;
    yield `${first ? '{' : ','}\n${inner}${escapeLineSeparators(JSON.stringify(k))}: `;
    first = false;
    yield* pieces(v, depth + 1);
  }
  yield first ? '{}' : `\n${pad}}`;
}

/** The JSON text of `value` (two-space indent, as jsonStringify(value, 2)) in chunks of about STREAM_CHUNK_UNITS. */
export function* jsonChunks(value: unknown): Generator<string> {
  let buf: string[] = [];
  let size = 0;
  for (const p of pieces(prepared(value, ''), 0)) {
    buf.push(p);
    size += p.length;
    if (size >= STREAM_CHUNK_UNITS) {
      yield buf.join('');
      buf = [];
      size = 0;
    }
  }
  if (buf.length > 0) yield buf.join('');
}
