// Strings read from evidence. Every byte came from an attacker-controlled dump, so decoding never
// fails and never passes control characters on: anything that is not printable Unicode is written
// as an escape (\xNN for bytes, \uNNNN for UTF-16 code units), and the raw bytes are kept as hex
// whenever the text is not a faithful rendering of them.

/**
 * Code-unit order of two strings (what < and > compare): the natural order of ISO-8601 times and
 * ASCII names. Used instead of localeCompare, whose first call loads ICU's collator (~25 ms of a
 * CLI run) for no difference on such strings.
 */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A string read from the evidence (same shape as vsm/types DumpString). */
export interface DumpString {
  readonly text: string;
  readonly rawHex?: string;
}

/** Control characters (C0, DEL, C1), bidi overrides/isolates and other format characters that can hide or reorder text. */
function unsafeCodePoint(cp: number): boolean {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return true;
  if (cp >= 0x202a && cp <= 0x202e) return true; // bidi embeddings/overrides
  if (cp >= 0x2066 && cp <= 0x2069) return true; // bidi isolates
  if (cp === 0x200e || cp === 0x200f || cp === 0x061c) return true; // direction marks
  if (cp === 0xfeff || cp === 0xfffe || cp === 0xffff) return true;
  if (cp >= 0xd800 && cp <= 0xdfff) return true; // lone surrogates
  return false;
}

/** A code unit unsafeCodePoint() rejects, or any surrogate (a pair is checked unit by unit). */
const UNSAFE_OR_SURROGATE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ufeff\ufffe\uffff\ud800-\udfff]/;
/** A byte that is not printable ASCII (0x20–0x7e). */
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const hex4 = (n: number) => n.toString(16).padStart(4, '0');

function finish(text: string, raw: Buffer, faithful: boolean): DumpString {
  return faithful ? { text } : { text, rawHex: raw.toString('hex') };
}

/**
 * Decodes bytes as UTF-8 (ASCII being its subset), stopping at the first NUL when `nulTerminated`.
 * Invalid sequences and unsafe characters become \xNN escapes of their bytes.
 */
export function decodeBytes(bytes: Buffer, nulTerminated = true): DumpString {
  let end = bytes.length;
  if (nulTerminated) {
    const nul = bytes.indexOf(0);
    if (nul >= 0) end = nul;
  }
  const raw = bytes.subarray(0, end);
  // Printable ASCII (nearly every name) is its own faithful text: decoded natively.
  const ascii = raw.toString('latin1');
  if (!NOT_PRINTABLE_ASCII.test(ascii)) return { text: ascii };
  let out = '';
  let faithful = true;
  let i = 0;
  while (i < raw.length) {
    const b = raw[i];
    let len = 0;
    let cp = -1;
    if (b < 0x80) {
      len = 1;
      cp = b;
    } else if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) len = 3;
    else if (b >= 0xf0 && b <= 0xf4) len = 4;
    if (len > 1 && i + len <= raw.length) {
      let ok = true;
      for (let k = 1; k < len; k++) if ((raw[i + k] & 0xc0) !== 0x80) ok = false;
      if (ok) {
        cp = len === 2 ? ((b & 0x1f) << 6) | (raw[i + 1] & 0x3f) : len === 3 ? ((b & 0x0f) << 12) | ((raw[i + 1] & 0x3f) << 6) | (raw[i + 2] & 0x3f) : ((b & 0x07) << 18) | ((raw[i + 1] & 0x3f) << 12) | ((raw[i + 2] & 0x3f) << 6) | (raw[i + 3] & 0x3f);
        // Overlong forms and out-of-range values are not valid UTF-8.
        const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10ffff) cp = -1;
      }
    }
    if (cp < 0 || unsafeCodePoint(cp)) {
      out += `\\x${hex2(b)}`;
      faithful = false;
      i += 1;
      continue;
    }
    out += String.fromCodePoint(cp);
    if (cp >= 0x80) faithful = false; // not plain ASCII: keep the bytes so the encoding is never in doubt
    i += len;
  }
  return finish(out, raw, faithful);
}

/** Decodes UTF-16LE (UNICODE_STRING buffers). Odd trailing bytes, lone surrogates and unsafe characters are escaped. */
export function decodeUtf16(bytes: Buffer): DumpString {
  // Whole code units none of which is unsafe or a surrogate: the native decoding is the text.
  if ((bytes.length & 1) === 0) {
    const text = bytes.toString('utf16le');
    if (!UNSAFE_OR_SURROGATE.test(text)) return { text };
  }
  // Parts joined once: appending per code unit builds a rope of one node per character, ~20x the
  // string's size on the heap until flattened, which 65536 long paths turn into an out-of-memory.
  const out: string[] = [];
  let faithful = true;
  const units = bytes.length >> 1;
  for (let i = 0; i < units; i++) {
    const u = bytes.readUInt16LE(i * 2);
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < units) {
      const lo = bytes.readUInt16LE(i * 2 + 2);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        out.push(String.fromCodePoint(0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00)));
        i++;
        continue;
      }
    }
    if (unsafeCodePoint(u)) {
      out.push(u < 0x100 ? `\\x${hex2(u)}` : `\\u${hex4(u)}`);
      faithful = false;
    } else out.push(String.fromCharCode(u));
  }
  if (bytes.length & 1) {
    out.push(`\\x${hex2(bytes[bytes.length - 1])}`);
    faithful = false;
  }
  return finish(out.join(''), bytes, faithful);
}

/** Share of printable ASCII among the bytes up to the first NUL (0 for an empty string). */
export function printableRatio(bytes: Buffer): { length: number; printable: number } {
  let n = 0;
  let p = 0;
  for (const b of bytes) {
    if (b === 0) break;
    n++;
    if (b >= 0x20 && b < 0x7f) p++;
  }
  return { length: n, printable: p };
}
