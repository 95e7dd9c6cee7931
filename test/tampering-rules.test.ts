// The tampering rule table on hand-built process records: each rule fires on its trace with the
// process, thread, handle owner, addresses and module named, legitimate owners and routine kernel
// APCs do not fire, and a clean system raises nothing.
import test from 'ava';
import { PROCESS_ALL_ACCESS, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_VM_READ, PROCESS_QUERY_INFORMATION, THREAD_SET_CONTEXT, processRights, threadRights } from '../src/ntos/access-rights.ts';
import { TAMPERING_RULES, tamperingFindings, type TamperInput } from '../src/vsm/tampering.ts';
import type { HandleRecord, ProcessRecord, ThreadRecord, VadRecord } from '../src/vsm/types.ts';
import { proc } from './reports-fixtures.ts';

const LSAISO_EXE = '\\Windows\\System32\\lsaiso.exe';
const NTDLL = '\\Windows\\System32\\ntdll.dll';
const image = (start: bigint, size: bigint, file: string): VadRecord => ({ start: '0x' + start.toString(16), end: '0x' + (start + size - 1n).toString(16), protection: 'PAGE_EXECUTE_WRITECOPY', private: false, file, commit: null });
const thread = (tid: number, start: bigint, module: string | null, apcs: ThreadRecord['apcs'] = []): ThreadRecord => ({
  tid,
  ethread: '0xffffa50f4c' + tid.toString(16).padStart(6, '0'),
  startAddress: '0x7ffd10001000',
  win32StartAddress: '0x' + start.toString(16),
  startModule: module,
  createTime: null,
  exitTime: null,
  state: 'Waiting',
  apcs,
});
const processHandle = (handle: number, pid: number, name: string, access: number): HandleRecord => ({ handle, type: 'Process', grantedAccess: access, rights: processRights(access), object: '0xffffa50f4b2c3080', target: { pid, tid: null, name }, name: null });

function system(clean: boolean): TamperInput {
  const lsaisoVads = [image(0x7ff6a0000000n, 0x40000n, LSAISO_EXE), image(0x7ffd10000000n, 0x1f0000n, NTDLL)];
  const lsaisoThreads = [thread(812, 0x7ff6a0001200n, 'lsaiso.exe'), thread(816, 0x7ffd10012000n, 'ntdll.dll')];
  if (!clean) {
    lsaisoVads.push({ start: '0x1f0000', end: '0x1fffff', protection: 'PAGE_EXECUTE_READWRITE', private: true, file: null, commit: 16 });
    lsaisoThreads.push(
      thread(900, 0x1f0100n, null, [
        { mode: 'user', kapc: '0xffffa50f4d001000', kernelRoutine: '0xfffff80312345000', normalRoutine: '0x1f0200', module: null },
        { mode: 'kernel', kapc: '0xffffa50f4d002000', kernelRoutine: '0xfffff80899001000', normalRoutine: null, module: 'evil.sys' },
        { mode: 'kernel', kapc: '0xffffa50f4d003000', kernelRoutine: '0xfffff80312346000', normalRoutine: null, module: 'ntoskrnl.exe' },
      ]),
    );
  }
  const lsaiso: ProcessRecord = { ...proc({ pid: 728, ppid: 592, name: 'LsaIso.exe', secure: true, trustlet: { id: 1, name: 'LsaIso.exe' } }), vads: lsaisoVads, threads: lsaisoThreads, handles: [], debugPort: clean ? null : '0xffffa50f4e000000' };
  const lsass: ProcessRecord = { ...proc({ pid: 736, ppid: 592, name: 'lsass.exe', prot: 0x41 }), handles: [], threads: [], vads: [] };
  const wininit: ProcessRecord = { ...proc({ pid: 592, ppid: 480, name: 'wininit.exe' }), handles: [processHandle(0x84, 728, 'LsaIso.exe', PROCESS_ALL_ACCESS), processHandle(0x88, 736, 'lsass.exe', PROCESS_ALL_ACCESS)], threads: [], vads: [] };
  const csrss: ProcessRecord = { ...proc({ pid: 500, ppid: 480, name: 'csrss.exe' }), handles: [processHandle(0x2c0, 736, 'lsass.exe', PROCESS_ALL_ACCESS)], threads: [], vads: [] };
  const svchost: ProcessRecord = { ...proc({ pid: 1100, ppid: 600, name: 'svchost.exe' }), handles: [processHandle(0x40, 736, 'lsass.exe', PROCESS_QUERY_LIMITED_INFORMATION)], threads: [], vads: [] };
  const procs = [proc({ pid: 4, ppid: 0, name: 'System' }), wininit, csrss, svchost, lsaiso, lsass];
  if (!clean) {
    const injected: VadRecord = { start: '0x2a0000', end: '0x2affff', protection: 'PAGE_EXECUTE_READWRITE', private: true, file: null, commit: 16 };
    procs.push({
      ...proc({ pid: 7720, ppid: 1100, name: 'mimi.exe' }),
      handles: [processHandle(0x1a4, 736, 'lsass.exe', PROCESS_VM_READ | PROCESS_QUERY_INFORMATION), processHandle(0x1a8, 728, 'LsaIso.exe', PROCESS_ALL_ACCESS), { handle: 0x1ac, type: 'Thread', grantedAccess: THREAD_SET_CONTEXT, rights: threadRights(THREAD_SET_CONTEXT), object: '0xffffa50f4c000384', target: { pid: 728, tid: 900, name: 'LsaIso.exe' }, name: null }],
      threads: [thread(7724, 0x2a0010n, null)],
      vads: [injected],
    });
  }
  return { processes: procs, peHeaders: new Map(clean ? [] : [[procs.length - 1, new Set(['0x2a0000'])]]), kernelImage: 'ntoskrnl.exe' };
}

test('a clean system raises no tampering finding (wininit and csrss handles, ntdll/image threads are routine)', (t) => {
  t.deepEqual(tamperingFindings(system(true)), []);
});

test('every rule fires on its trace, naming process, thread, owner, addresses and module', (t) => {
  const f = tamperingFindings(system(false));
  const by = (rule: string) => f.filter((x) => x.rule === rule);
  t.deepEqual([...new Set(f.map((x) => x.rule))].sort(), TAMPERING_RULES.map((r) => r.rule).sort(), 'every rule fires');

  const h = by('vsm.trustlet-handle-access');
  t.is(h.length, 2, 'the process handle and the thread handle of mimi.exe; not wininit (LsaIso.exe\'s parent)');
  t.is(h[0].evidence.pid, 728);
  t.like(h[0].evidence.owner as object, { pid: 7720, name: 'mimi.exe' });
  t.regex(h[0].message, /mimi\.exe \(PID 7720\) holds Process handle 0x1a8 on LsaIso\.exe \(PID 728\) with .*PROCESS_VM_READ.*PROCESS_VM_WRITE/);
  t.is(h[0].attack?.subtechniqueId, 'T1003.001');
  t.like(h[0].evidence, { handle: 0x1a8, grantedAccess: '0x1fffff' });
  t.true((h[0].evidence.rights as string[]).includes('PROCESS_CREATE_THREAD'), 'the tampering rights are named');
  t.false((h[0].evidence.rights as string[]).includes('READ_CONTROL'), 'only the rights that matter');
  t.regex(h[1].message, /Thread handle 0x1ac .* thread 900 with THREAD_SET_CONTEXT/);
  t.is(h[1].evidence.tid, 900);

  const rt = by('vsm.trustlet-remote-thread');
  t.is(rt.length, 1);
  t.like(rt[0].evidence, { pid: 728, tid: 900, address: '0x1f0100', module: null });
  t.is(rt[0].severity, 'critical');

  const ua = by('vsm.trustlet-user-apc');
  t.is(ua.length, 1);
  t.like(ua[0].evidence, { tid: 900, kapc: '0xffffa50f4d001000', address: '0x1f0200' });
  t.is(ua[0].attack?.subtechniqueId, 'T1055.004');

  const ka = by('vsm.trustlet-kernel-apc');
  t.is(ka.length, 2, 'the driver APC and the kernel image\'s own');
  t.like(ka[0].evidence, { module: 'evil.sys', address: '0xfffff80899001000' });
  t.regex(ka[0].message, /in driver evil\.sys/);
  t.is(ka[0].severity, 'critical');
  t.is(ka[1].severity, 'high', 'a routine in the kernel image may be Windows\' own');
  t.regex(ka[1].message, /kernel image ntoskrnl\.exe/);

  const pe = by('vsm.trustlet-private-executable');
  t.is(pe.length, 1);
  t.like(pe[0].evidence, { pid: 728, address: '0x1f0000', end: '0x1fffff', protection: 'PAGE_EXECUTE_READWRITE', peHeader: false });

  const dp = by('vsm.trustlet-debug-port');
  t.like(dp[0].evidence, { pid: 728, address: '0xffffa50f4e000000', debugPort: '0xffffa50f4e000000' });

  const ls = by('ntos.lsass-handle-access');
  t.is(ls.length, 1, 'mimi.exe only: csrss and wininit are Windows, svchost has no VM_READ');
  t.like(ls[0].evidence, { pid: 736, handle: 0x1a4, grantedAccess: '0x410' });
  t.deepEqual(ls[0].evidence.rights, ['PROCESS_VM_READ', 'PROCESS_QUERY_INFORMATION']);
  t.is(ls[0].attack?.techniqueId, 'T1003');

  const ic = by('ntos.injected-code');
  t.is(ic.length, 2, 'the trustlet region with a thread in it, and mimi.exe\'s region with a PE header and a thread');
  const mimi = ic.find((x) => x.evidence.pid === 7720)!;
  t.like(mimi.evidence, { address: '0x2a0000', peHeader: true, tid: 7724 });
  t.is(mimi.attack?.subtechniqueId, 'T1055.002');
  t.regex(mimi.message, /PE header and where thread 7724 starts/);
  t.true(f.filter((x) => x.rule.startsWith('vsm.')).every((x) => x.severity === 'high' || x.severity === 'critical'));
});
