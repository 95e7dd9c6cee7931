// A fuzz input is a seed plus a short list of edit operations. Keeping the edits (not the mutated
// bytes) makes every finding small to store, cheap to minimize (drop edits) and exact to replay.

/** Largest input an edit list may grow a seed to (extensions and duplications are bounded). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

export type Op =
  /** Overwrite bytes at `at` (clipped to the input). */
  | { op: 'set'; at: number; hex: string }
  /** Flip one bit. */
  | { op: 'flip'; at: number; bit: number }
  /** Cut the input to `len` bytes. */
  | { op: 'truncate'; len: number }
  /** Append `len` bytes of `fill`. */
  | { op: 'extend'; len: number; fill: number }
  /** Insert a copy of [from, from+len) at `to` (the input grows). */
  | { op: 'dup'; from: number; len: number; to: number }
  /** Overwrite [to, to+len) with a copy of [from, from+len). */
  | { op: 'copy'; from: number; len: number; to: number }
  /** Remove [at, at+len). */
  | { op: 'delete'; at: number; len: number }
  /** Fill [at, at+len) with one byte value. */
  | { op: 'fill'; at: number; len: number; value: number }
  /** JSON inputs: parse, set the value at `path` (creating nothing), serialize. */
  | { op: 'json'; path: Array<string | number>; value: unknown };

export function applyOps(seed: Buffer, ops: readonly Op[]): Buffer {
  let b: Buffer = Buffer.from(seed);
  for (const o of ops) b = applyOp(b, o);
  return b;
}

function clampLen(b: Buffer, at: number, len: number): number {
  return Math.max(0, Math.min(len, b.length - at));
}

export function applyOp(b: Buffer, o: Op): Buffer {
  switch (o.op) {
    case 'set': {
      if (o.at >= b.length) return b;
      const src = Buffer.from(o.hex, 'hex');
      src.copy(b, o.at, 0, clampLen(b, o.at, src.length));
      return b;
    }
    case 'flip':
      if (o.at < b.length) b[o.at] = b[o.at]! ^ (1 << (o.bit & 7));
      return b;
    case 'truncate':
      return o.len < b.length ? b.subarray(0, o.len) : b;
    case 'extend': {
      const n = Math.min(o.len, MAX_INPUT_BYTES - b.length);
      return n > 0 ? Buffer.concat([b, Buffer.alloc(n, o.fill)]) : b;
    }
    case 'dup': {
      if (o.from >= b.length) return b;
      const len = Math.min(clampLen(b, o.from, o.len), MAX_INPUT_BYTES - b.length);
      const to = Math.min(o.to, b.length);
      return Buffer.concat([b.subarray(0, to), Buffer.from(b.subarray(o.from, o.from + len)), b.subarray(to)]);
    }
    case 'copy': {
      if (o.from >= b.length || o.to >= b.length) return b;
      const len = Math.min(clampLen(b, o.from, o.len), clampLen(b, o.to, o.len));
      b.copy(b, o.to, o.from, o.from + len);
      return b;
    }
    case 'delete': {
      if (o.at >= b.length) return b;
      const len = clampLen(b, o.at, o.len);
      return Buffer.concat([b.subarray(0, o.at), b.subarray(o.at + len)]);
    }
    case 'fill':
      if (o.at < b.length) b.fill(o.value & 0xff, o.at, o.at + clampLen(b, o.at, o.len));
      return b;
    case 'json': {
      let doc: unknown;
      try {
        doc = JSON.parse(b.toString('utf8'));
      } catch {
        return b; // an earlier byte edit broke the JSON: this edit has nothing to hold on to
      }
      if (o.path.length === 0) return Buffer.from(JSON.stringify(o.value) ?? 'null');
      let node: unknown = doc;
      for (const k of o.path.slice(0, -1)) {
        if (node === null || typeof node !== 'object') return b;
        node = (node as Record<string | number, unknown>)[k];
      }
      if (node === null || typeof node !== 'object') return b;
      const last = o.path[o.path.length - 1]!;
      if (o.value === undefined) delete (node as Record<string | number, unknown>)[last];
      else (node as Record<string | number, unknown>)[last] = o.value;
      return Buffer.from(JSON.stringify(doc));
    }
  }
}

/** Short human summary of an edit list (for reports). */
export function describeOps(ops: readonly Op[]): string {
  return ops
    .map((o) => {
      switch (o.op) {
        case 'set':
          return `set@0x${o.at.toString(16)}=${o.hex.length > 32 ? o.hex.slice(0, 32) + '…' : o.hex}`;
        case 'flip':
          return `flip@0x${o.at.toString(16)}.${o.bit}`;
        case 'truncate':
          return `truncate(0x${o.len.toString(16)})`;
        case 'extend':
          return `extend(0x${o.len.toString(16)})`;
        case 'json':
          return `json ${o.path.join('.')}=${JSON.stringify(o.value)?.slice(0, 40)}`;
        default:
          return `${o.op}(${JSON.stringify(o).slice(0, 60)})`;
      }
    })
    .join(', ');
}
