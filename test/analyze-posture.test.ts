import test from 'ava';
import { computePosture } from '../src/vsm/posture.ts';
import type { ProcessRecord } from '../src/vsm/types.ts';

const proc = (pid: number, name: string, secure: boolean | null, readable = 0, terminated = false) =>
  ({
    pid,
    name: { text: name },
    secure,
    terminated,
    trustlet: name === 'LsaIso.exe' && secure ? { id: 1, name } : null,
    isolation: secure ? { pagesReadable: readable } : undefined,
  }) as unknown as ProcessRecord;

const vbs = (readable = 0) => [proc(4, 'System', false), proc(72, 'Secure System', true), proc(800, 'LsaIso.exe', true, readable), proc(812, 'lsass.exe', false)];

test('a crash dump of a VBS system: Credential Guard on, VTL0 origin', (t) => {
  const p = computePosture({ processes: vbs(), format: 'crash-bitmap', formatName: 'bitmap crash dump (DumpType 5)', secureKernelMarkers: [] });
  t.like(p, { secureProcesses: 2, secureSystemPresent: true, credentialGuard: true, dumpOrigin: 'vtl0-crash-dump' });
  t.true(p.evidence.some((e) => /LsaIso\.exe \(PID 800\) is a live secure process with trustlet ID 1/.test(e)));
  t.true(p.evidence.every((e) => e.endsWith('.')));
});

test('readable trustlet pages in a crash dump say isolation was not enforced', (t) => {
  const p = computePosture({ processes: vbs(3), format: 'crash-full', formatName: 'full crash dump (DumpType 1)', secureKernelMarkers: [] });
  t.is(p.dumpOrigin, 'vtl0-crash-dump');
  t.true(p.evidence.some((e) => /not enforced/.test(e)));
});

test('raw images: software acquisition, hypervisor capture with the secure kernel present, or unknown', (t) => {
  t.is(computePosture({ processes: vbs(), format: 'raw', formatName: 'raw', secureKernelMarkers: [] }).dumpOrigin, 'raw-acquisition');
  t.is(computePosture({ processes: vbs(5), format: 'raw', formatName: 'raw', secureKernelMarkers: [0x1234000] }).dumpOrigin, 'hypervisor-capture');
  t.is(computePosture({ processes: vbs(5), format: 'raw', formatName: 'raw', secureKernelMarkers: [] }).dumpOrigin, 'unknown');
  t.is(computePosture({ processes: vbs(), format: 'vmware', formatName: 'VMware', secureKernelMarkers: [] }).dumpOrigin, 'hypervisor-capture');
});

test('VSM off, an exited LsaIso, and unreadable markers are said as such', (t) => {
  const off = computePosture({ processes: [proc(4, 'System', false), proc(812, 'lsass.exe', false)], format: 'crash-full', formatName: 'f', secureKernelMarkers: [] });
  t.like(off, { secureProcesses: 0, secureSystemPresent: false, credentialGuard: false });
  t.true(off.evidence.some((e) => /not running/.test(e)));
  const exited = computePosture({ processes: [proc(72, 'Secure System', true), proc(800, 'LsaIso.exe', true, 0, true)], format: 'crash-full', formatName: 'f', secureKernelMarkers: [] });
  t.false(exited.credentialGuard);
  const unknown = computePosture({ processes: [proc(4, 'System', null)], format: 'crash-full', formatName: 'f', secureKernelMarkers: [] });
  t.true(unknown.evidence.some((e) => /unreadable/.test(e)));
});
