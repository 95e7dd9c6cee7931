// CodeView numeric leaves: every kind decodes to its value and consumes exactly its bytes.
import test from 'ava';
import { Cursor, NumericLeaf, RecordError, skipPadding } from '../src/ntos/pdb/codeview.ts';

function leaf(kind: number, payload: number[] | Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16LE(kind);
  return Buffer.concat([head, Buffer.from(payload), Buffer.from([0xaa])]); // 0xaa: the byte after
}

function read(buf: Buffer): { value: number | bigint; next: number } {
  const c = new Cursor(buf, 0, buf.length);
  const value = c.numeric();
  return { value, next: buf[c.pos] };
}

test('integer leaves: immediate, LF_CHAR … LF_UQUADWORD, signed and unsigned', (t) => {
  const f64 = (v: bigint, signed: boolean) => {
    const b = Buffer.alloc(8);
    if (signed) b.writeBigInt64LE(v);
    else b.writeBigUInt64LE(v);
    return b;
  };
  const cases: [Buffer, number | bigint][] = [
    [Buffer.from([0x34, 0x12, 0xaa]), 0x1234],
    [leaf(NumericLeaf.LF_CHAR, [0xff]), -1],
    [leaf(NumericLeaf.LF_SHORT, [0x38, 0xff]), -200],
    [leaf(NumericLeaf.LF_USHORT, [0x00, 0xc0]), 0xc000],
    [leaf(NumericLeaf.LF_LONG, [0x90, 0xee, 0xfe, 0xff]), -70000],
    [leaf(NumericLeaf.LF_ULONG, [0x01, 0x00, 0x00, 0x80]), 0x80000001],
    [leaf(NumericLeaf.LF_QUADWORD, f64(-0x123456789n, true)), -0x123456789],
    [leaf(NumericLeaf.LF_QUADWORD, f64(-(2n ** 63n), true)), -(2n ** 63n)],
    [leaf(NumericLeaf.LF_UQUADWORD, f64(0xfffffffffffffff0n, false)), 0xfffffffffffffff0n],
    [leaf(NumericLeaf.LF_UQUADWORD, f64(0x80000000n, false)), 0x80000000],
  ];
  for (const [buf, want] of cases) {
    const r = read(buf);
    t.is(r.value, want);
    t.is(r.next, 0xaa);
  }
});

test('real, complex, octword, decimal, date and string leaves are consumed whole', (t) => {
  const f32 = Buffer.alloc(4);
  f32.writeFloatLE(1.5);
  const f64 = Buffer.alloc(8);
  f64.writeDoubleLE(-2.25);
  t.is(read(leaf(NumericLeaf.LF_REAL32, f32)).value, 1.5);
  t.is(read(leaf(NumericLeaf.LF_REAL64, f64)).value, -2.25);
  const sized: [number, number][] = [
    [NumericLeaf.LF_REAL16, 2],
    [NumericLeaf.LF_REAL48, 6],
    [NumericLeaf.LF_REAL80, 10],
    [NumericLeaf.LF_REAL128, 16],
    [NumericLeaf.LF_COMPLEX32, 8],
    [NumericLeaf.LF_COMPLEX64, 16],
    [NumericLeaf.LF_COMPLEX80, 20],
    [NumericLeaf.LF_COMPLEX128, 32],
    [NumericLeaf.LF_OCTWORD, 16],
    [NumericLeaf.LF_UOCTWORD, 16],
    [NumericLeaf.LF_DECIMAL, 16],
    [NumericLeaf.LF_DATE, 8],
  ];
  for (const [kind, size] of sized) t.is(read(leaf(kind, Buffer.alloc(size, 0x11))).next, 0xaa, `0x${kind.toString(16)}`);
  t.is(read(leaf(NumericLeaf.LF_VARSTRING, [3, 0, 0x41, 0x42, 0x43])).next, 0xaa);
  t.is(read(leaf(NumericLeaf.LF_UTF8STRING, [0x41, 0x42, 0])).next, 0xaa);
});

test('truncated and unknown leaves raise RecordError; sizes must be non-negative integers', (t) => {
  t.throws(() => read(leaf(NumericLeaf.LF_ULONG, [1, 2]).subarray(0, 4)), { instanceOf: RecordError });
  t.throws(() => read(leaf(0x80ff, [])), { instanceOf: RecordError });
  t.throws(() => new Cursor(leaf(NumericLeaf.LF_CHAR, [0xff]), 0, 3).unsigned(), { instanceOf: RecordError });
  t.is(new Cursor(leaf(NumericLeaf.LF_ULONG, [0, 0, 1, 0]), 0, 6).unsigned(), 0x10000);
});

test('names: C strings stop at NUL or the record end; LF_PADn bytes are skipped by their count', (t) => {
  const b = Buffer.from('abc\0defgh');
  const c = new Cursor(b, 0, 6);
  t.is(c.cstring(), 'abc');
  t.is(c.cstring(), 'de'); // unterminated: runs to the record end, no further
  t.is(c.pos, 6);
  const p = new Cursor(Buffer.from([0xf3, 0xf2, 0xf1, 0x07]), 0, 4);
  skipPadding(p);
  t.is(p.pos, 3);
  const pascal = new Cursor(Buffer.from([3, 0x41, 0x42, 0x43, 0x44]), 0, 5);
  t.is(pascal.pstring(), 'ABC');
});
