import test from 'ava';
import { builtinByPdb } from '../src/ntos/layout-table.ts';
import { filetimeToIso } from '../src/dump/numbers.ts';
import { hasExited, implausibilities, readEprocess } from '../src/ntos/process.ts';
import { walkProcessList } from '../src/ntos/process-list.ts';
import { decodeBytes, decodeUtf16 } from '../src/ntos/strings.ts';
import { decodeProtection } from '../src/vsm/protection.ts';
import { judgeSecure, secureFlag } from '../src/vsm/secure.ts';
import { HEAD_VA, ProcFixture } from './helpers/proc-fixture.ts';

// The seven real layouts in ../shared/data/isf (GUID-age), through the built-in table.
export const REAL_LAYOUTS = [
  'DBBC830E3E9A48FDA25A2144C146930E-1', // 14393
  '1D4090613BF97F9B9529992E20E93897-1', // 17763
  'DCA4AD4BEEB4746D48F84C0125019E43-1', // 18362
  '5278AFF86C341677D7D7835C85B7B844-1', // 19041.804
  '606FF669409B00F7FC8C61A9C1670129-1', // 19041.3570
  'B3ED6FA26A1FD6DF6A34DF3B125CAFE8-1', // 20348
  '0CE4A95C0CD782A7596B034D8648E585-1', // 22000
];
const layoutOf = (key: string) => builtinByPdb(key.slice(0, 32), Number(key.slice(33)))!;

for (const key of REAL_LAYOUTS) {
  test(`EPROCESS fields read with layout ${key}`, (t) => {
    const layout = layoutOf(key);
    t.truthy(layout);
    const fx = new ProcFixture(layout);
    fx.add({ pid: 4, ppid: 0, name: 'System', protection: 0x72, create: '2024-05-14T07:02:11.500Z' });
    const lsa = fx.add({ pid: 800, ppid: 652, name: 'LsaIso.exe', secure: 0x1234n, trustletId: 1, session: 0, path: '\\Device\\HarddiskVolume3\\Windows\\System32\\LsaIso.exe', create: '2024-05-14T07:02:17.800Z' });
    const ex = fx.add({ pid: 6020, ppid: 944, name: 'WmiPrvSE.exe', session: 1, create: '2024-05-14T07:54:11.500Z', exit: '2024-05-14T07:54:42.900Z' });
    fx.link();
    const p = readEprocess(fx.vm, layout, lsa.va);
    t.is(p.pid, 800n);
    t.is(p.ppid, 652n);
    t.is(p.imageFileName?.text, 'LsaIso.exe');
    t.is(p.imagePath?.text, '\\Device\\HarddiskVolume3\\Windows\\System32\\LsaIso.exe');
    t.is(filetimeToIso(p.createTime), '2024-05-14T07:02:17.800Z');
    t.is(p.sessionId, 0);
    t.is(p.pa, lsa.pa);
    t.is(Number(p.dtb), lsa.dtb);
    t.is(secureFlag(p), true);
    const j = judgeSecure(p, 'LsaIso.exe');
    t.deepEqual(j.trustlet, { id: 1, name: 'LsaIso.exe' });
    t.is(j.anomaly, null);
    t.deepEqual(implausibilities(p), []);
    const e = readEprocess(fx.vm, layout, ex.va);
    t.true(hasExited(e));
    t.is(filetimeToIso(e.exitTime), '2024-05-14T07:54:42.900Z');
    t.is(e.sessionId, 1);
    const w = walkProcessList(fx.vm, layout, HEAD_VA);
    t.true(w.complete);
    t.deepEqual(w.entries.map((x) => Number(x.info.pid)), [4, 800, 6020]);
    t.deepEqual(w.issues, []);
  });
}

test('14393 records the trustlet ID in the EPROCESS; later builds do not', (t) => {
  const l14393 = layoutOf(REAL_LAYOUTS[0]);
  const l19041 = layoutOf(REAL_LAYOUTS[3]);
  t.truthy(l14393.fields['EPROCESS.TrustletIdentity']);
  t.truthy(l14393.fields['KPROCESS.SecurePid']);
  t.falsy(l19041.fields['EPROCESS.TrustletIdentity']);
  const fx = new ProcFixture(l14393);
  const b = fx.add({ pid: 900, ppid: 4, name: 'BioIso.exe', secure: 900n, trustletId: 3 });
  const p = readEprocess(fx.vm, l14393, b.va);
  t.is(p.securePid, 900n);
  t.deepEqual(judgeSecure(p, 'BioIso.exe').trustlet, { id: 3, name: 'BioIso.exe' });
});

test('trustlet name without the secure flag, and a secure process with an unknown name, are anomalies', (t) => {
  const layout = layoutOf(REAL_LAYOUTS[3]);
  const fx = new ProcFixture(layout);
  const fake = fx.add({ pid: 1000, ppid: 4, name: 'LsaIso.exe' });
  const odd = fx.add({ pid: 1004, ppid: 4, name: 'evil.exe', secure: 1n });
  const ss = fx.add({ pid: 72, ppid: 4, name: 'Secure System', secure: 1n });
  t.is(judgeSecure(readEprocess(fx.vm, layout, fake.va), 'LsaIso.exe').anomaly?.kind, 'trustlet-not-secure');
  const o = judgeSecure(readEprocess(fx.vm, layout, odd.va), 'evil.exe');
  t.is(o.anomaly?.kind, 'secure-unknown-name');
  t.is(o.trustlet, null);
  const s = judgeSecure(readEprocess(fx.vm, layout, ss.va), 'Secure System');
  t.true(s.isSecureSystem);
  t.is(s.anomaly, null);
});

test('secure flag is null when the marker cannot be read', (t) => {
  const layout = layoutOf(REAL_LAYOUTS[3]);
  const fx = new ProcFixture(layout);
  const p = fx.add({ pid: 800, ppid: 4, name: 'LsaIso.exe', secure: 1n });
  // Drop the page holding SecureState (offset 0x3e0 lies in the body's first page or the next).
  const off = BigInt(layout.fields['KPROCESS.SecureState']!.offset);
  fx.dropPageOf(p.va + off);
  const info = readEprocess(fx.vm, layout, p.va);
  t.is(secureFlag(info), null);
  t.true(info.unreadable.includes('secureState'));
});

test('PS_PROTECTION decodes to Windows notation', (t) => {
  t.like(decodeProtection(0x72), { type: 'Protected', signer: 'PsProtectedSignerWinSystem', audit: false, text: 'PsProtectedSignerWinSystem' });
  // 0x61 is type 1 (light): csrss/smss/services run as WinTcb-Light (formats.md's "Protected" for 0x61 is a slip).
  t.like(decodeProtection(0x61), { type: 'ProtectedLight', signer: 'PsProtectedSignerWinTcb', text: 'PsProtectedSignerWinTcb-Light' });
  t.like(decodeProtection(0x62), { type: 'Protected', text: 'PsProtectedSignerWinTcb' });
  t.like(decodeProtection(0x41), { type: 'ProtectedLight', signer: 'PsProtectedSignerLsa', text: 'PsProtectedSignerLsa-Light' });
  t.like(decodeProtection(0x31), { type: 'ProtectedLight', signer: 'PsProtectedSignerAntimalware', text: 'PsProtectedSignerAntimalware-Light' });
  t.like(decodeProtection(0), { type: 'None', signer: 'PsProtectedSignerNone', text: 'None' });
  t.like(decodeProtection(0x49), { audit: true, text: 'PsProtectedSignerLsa-Light-Audit' });
  t.like(decodeProtection(0xf5), { type: 'Unknown(5)', signer: 'PsProtectedSignerUnknown(15)' });
});

test('dump strings: printable text kept, control bytes escaped, raw bytes kept where different', (t) => {
  t.deepEqual(decodeBytes(Buffer.from('svchost.exe\0\0\0\0', 'latin1')), { text: 'svchost.exe' });
  t.deepEqual(decodeBytes(Buffer.from('\x1b[31mevil\0', 'latin1')), { text: '\\x1b[31mevil', rawHex: '1b5b33316d6576696c' });
  t.deepEqual(decodeBytes(Buffer.from([0x41, 0xff, 0x42])), { text: 'A\\xffB', rawHex: '41ff42' });
  t.is(decodeBytes(Buffer.from('<img src=x onerror=alert(1)>', 'latin1')).text, '<img src=x onerror=alert(1)>');
  t.deepEqual(decodeUtf16(Buffer.from('C:\\x.exe', 'utf16le')), { text: 'C:\\x.exe' });
  const bidi = decodeUtf16(Buffer.from('a\u202eb', 'utf16le'));
  t.is(bidi.text, 'a\\u202eb');
  t.truthy(bidi.rawHex);
  const lone = Buffer.alloc(4);
  lone.writeUInt16LE(0xd800, 0);
  lone.writeUInt16LE(0x41, 2);
  t.is(decodeUtf16(lone).text, '\\ud800A');
  t.is(decodeUtf16(Buffer.from([0x41, 0, 0x42])).text, 'A\\x42');
});

test('impossible values make an object implausible', (t) => {
  const layout = layoutOf(REAL_LAYOUTS[3]);
  const fx = new ProcFixture(layout);
  const a = fx.add({ pid: 801, ppid: 4, name: 'x.exe' });
  t.true(implausibilities(readEprocess(fx.vm, layout, a.va)).some((s) => s.startsWith('pid')));
  const b = fx.add({ pid: 808, ppid: 4, name: Buffer.from([1, 2, 3, 0]) });
  t.true(implausibilities(readEprocess(fx.vm, layout, b.va)).includes('ImageFileName not printable'));
  const c = fx.add({ pid: 812, ppid: 4, name: 'ok.exe', create: '1970-01-02T00:00:00Z' });
  t.true(implausibilities(readEprocess(fx.vm, layout, c.va)).includes('CreateTime impossible'));
});
