// Every sink's escaping in one place. Strings in a report come from the evidence (process names,
// image paths, PDB names, the dump comment) or from the examiner's file system (the evidence path);
// both are attacker-controlled, so every renderer passes them through one of these before output.

/** Lone UTF-16 surrogates: they cannot be encoded as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A string that encodes to valid UTF-8: lone surrogates become U+FFFD. */
export function wellFormed(s: string): string {
  // Nearly every string is already well-formed: one native check (String.prototype.isWellFormed) then.
  return (s as { isWellFormed(): boolean } & string).isWellFormed() ? s : s.replace(LONE_SURROGATE, '\uFFFD');
}

/**
 * Characters that must not reach a display as themselves: C0 controls (ESC starts every ANSI
 * sequence; CR and BS overwrite what a reader sees), DEL, C1 controls (U+009B is an 8-bit CSI),
 * line/paragraph separators, bidi embeddings/overrides/isolates (they reorder what a reader sees),
 * zero-width and BOM characters, and lone surrogates.
 */
const INVISIBLE =
  /[\u0000-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF\uFFF9-\uFFFB]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function visibleEscape(ch: string): string {
  const c = ch.charCodeAt(0);
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

/** A single-line, visible form of a string: every control/invisible character shown as \xNN or \uNNNN. */
export function displayText(s: string): string {
  return s.replace(INVISIBLE, visibleEscape);
}

/** For a terminal: no control character, no ANSI escape, no bidi trick can reach the output. */
export function terminalText(s: string): string {
  return displayText(s);
}

const HTML_TEXT: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML element content (also safe inside quoted attributes): visible form, then entity-escaped. */
export function htmlText(s: string): string {
  return displayText(s).replace(/[&<>"']/g, (c) => HTML_TEXT[c]);
}

/**
 * A quoted HTML attribute value. Besides the five HTML specials it escapes backtick and '=' too
 * (old IE/unquoted-attribute tricks) and keeps only the visible form.
 */
export function htmlAttr(s: string): string {
  return displayText(s).replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A safe id/class/anchor token: [a-z0-9-] only. */
export function htmlId(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

/**
 * A CSV cell: values starting with = + - @ TAB or CR are prefixed with ' so spreadsheets do not
 * evaluate them (OWASP CSV injection); quoted when they hold a comma, quote or line break.
 */
export function csvCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'string' ? wellFormed(value) : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** LINE SEPARATOR and PARAGRAPH SEPARATOR: valid raw in JSON strings, but line readers (and JavaScript before ES2019) split there. */
const LINE_BREAKING_SEPARATORS = /[\u2028\u2029]/g;
const escapeUnicode = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * JSON.stringify whose output is always valid UTF-8 (lone surrogates replaced, not escaped) and
 * holds no raw U+2028/U+2029 (escaped as \u2028/\u2029: they can only occur inside strings), so an
 * NDJSON line is one line for every reader.
 */
export function jsonStringify(value: unknown, indent?: number): string {
  return escapeLineSeparators(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' ? wellFormed(v) : v), indent));
}

/** JSON text with U+2028/U+2029 written as \u2028/\u2029 (they can only stand inside strings). */
export function escapeLineSeparators(json: string): string {
  return json?.replace(LINE_BREAKING_SEPARATORS, escapeUnicode);
}

/**
 * Text for an inline <script> data block (JSON inside HTML): `<`, `>` and `&` escaped as \uNNNN
 * (U+2028/9 already are, by jsonStringify) so no `</script>` or `<!--` can end or confuse the block.
 */
export function scriptJson(value: unknown): string {
  return jsonStringify(value).replace(/[<>&]/g, escapeUnicode);
}

/** Truncates to at most `max` code points, marking the cut with '…'. */
export function truncate(s: string, max: number): string {
  const cps = [...s];
  return cps.length <= max ? s : cps.slice(0, Math.max(0, max - 1)).join('') + '…';
}

/** Columns a string occupies on a terminal (combining marks 0, East Asian wide and emoji 2). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (/\p{M}/u.test(ch)) continue;
    w += isWide(c) ? 2 : 1;
  }
  return w;
}

function isWide(c: number): boolean {
  return (
    (c >= 0x1100 && c <= 0x115f) ||
    (c >= 0x2e80 && c <= 0xa4cf && c !== 0x303f) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xfe30 && c <= 0xfe4f) ||
    (c >= 0xff00 && c <= 0xff60) ||
    (c >= 0xffe0 && c <= 0xffe6) ||
    (c >= 0x1f300 && c <= 0x1f64f) ||
    (c >= 0x1f900 && c <= 0x1f9ff) ||
    (c >= 0x20000 && c <= 0x3fffd)
  );
}
