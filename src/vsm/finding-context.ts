// Every finding made readable on its own (issue 14): the process it concerns and that process's
// parent (full name, drive-letter path, command line, user, creation time) and a short "what this
// means / what to check next" from one table keyed by rule id (docs/analyze.md holds the long form).
import { fullProcessName } from './full-name.ts';
import { parentOf } from './masquerade.ts';
import type { Finding, FindingProcess, ProcessRecord } from './types.ts';

export interface Guidance {
  readonly meaning: string;
  readonly next: string;
}

/** Guidance per rule id. A rule missing here gets FALLBACK_GUIDANCE (test/finding-context.test.ts lists every rule the analysis emits). */
export const GUIDANCE: Readonly<Record<string, Guidance>> = {
  'ntos.process-unlinked': { meaning: 'A live process was removed from the kernel\'s process list (DKOM): rootkit-style hiding from Task Manager and most tools.', next: 'Treat as compromise: examine the process\'s image path, command line, parent and loaded DLLs; look for the driver that unlinked it (unsigned or recently loaded modules).' },
  'ntos.system-binary-path': { meaning: 'A process carries a Windows system binary\'s name but its image is outside the directory Windows runs it from: a classic disguise.', next: 'Collect the file at that path and hash it; check its parent and command line, and when and by whom the file was written.' },
  'ntos.unexpected-parent': { meaning: 'A system process was started by a parent Windows never uses for it: a fake system process or a spoofed parent.', next: 'Compare the image path with the genuine one, examine the parent\'s command line, and look for process hollowing (private executable memory).' },
  'ntos.duplicate-system-process': { meaning: 'A second instance of a process Windows runs once per boot: one of them is not genuine.', next: 'Compare both instances\' image paths, parents and creation times; the later one not started by wininit.exe is the suspect.' },
  'ntos.name-imitation': { meaning: 'A process name is one or two characters (or a lookalike character) away from a system binary\'s: chosen to pass a glance.', next: 'Collect the image, check its signature and path, and review its parent and command line.' },
  'ntos.list-head-unknown': { meaning: 'The kernel\'s process list head could not be found; processes come from the memory scan only.', next: 'Supply matching symbols (--symbols) and re-run; treat hidden-process conclusions as weaker.' },
  'ntos.list-head-unreadable': { meaning: 'The process list head lies in a page the dump lacks.', next: 'Check the dump\'s completeness (partial marks); rely on the scan results.' },
  'ntos.list-unreadable': { meaning: 'Part of the process list lies in pages the dump lacks.', next: 'Processes after the gap come from the scan; check the dump\'s completeness.' },
  'ntos.list-bad-link': { meaning: 'A process list link points somewhere no process is: damage or tampering (DKOM).', next: 'Look at the processes either side of the break and at loaded drivers; compare with the scan results.' },
  'ntos.list-cycle': { meaning: 'The process list loops without returning to its head: damage or tampering.', next: 'Compare the listed processes with the scan; look for processes only the scan found.' },
  'ntos.list-blink-mismatch': { meaning: 'A back link of the process list does not match its forward link: often a process exiting while memory was captured.', next: 'Usually benign on a live capture; if other list findings exist, treat as tampering.' },
  'ntos.list-cap': { meaning: 'The process list walk stopped at its cap: results past it are missing.', next: 'Re-run with a larger --max-list-entries if the system really had that many processes.' },
  'vsm.trustlet-pages-readable': { meaning: 'Memory of a VTL1 trustlet is readable in this dump: isolation did not hold, so the dump may contain isolated secrets.', next: 'Handle the dump as credential material; find out how it was acquired (hypervisor capture, VTL1 compromise, VSM misconfiguration).' },
  'vsm.isolation-indeterminate': { meaning: 'This dump cannot show whether the trustlet\'s pages were isolated.', next: 'Check the dump type (kernel-only and active dumps omit user pages) and the baseline counts.' },
  'vsm.trustlet-not-secure': { meaning: 'A process wears a trustlet\'s name but does not run in VTL1: an impostor or a VSM failure.', next: 'Check its image path, parent and protection; compare with the genuine LsaIso.exe under wininit.exe.' },
  'vsm.secure-unknown-name': { meaning: 'A secure (IUM) process has a name no known trustlet has.', next: 'Identify the image; new Windows builds add trustlets, so check the build before concluding.' },
  'vsm.trustlet-id-mismatch': { meaning: 'A trustlet\'s ID does not match its name.', next: 'Check the image and the build; an ID mismatch can indicate a substituted trustlet.' },
  'vsm.not-running': { meaning: 'No secure process runs: Virtual Secure Mode and Credential Guard were not protecting this system.', next: 'Check whether VBS/Credential Guard should be on for this host (policy, firmware) and when it was turned off.' },
  'vsm.credential-guard-off': { meaning: 'VSM ran but Credential Guard (LsaIso.exe) did not: credentials lived in lsass.exe memory.', next: 'Check the Credential Guard policy; treat lsass.exe memory as holding reusable credentials.' },
  'vsm.trustlet-handle-access': { meaning: 'A VTL0 process holds a handle to a trustlet with access rights that read or change it.', next: 'Identify the holder\'s image, parent and command line; such access is credential-theft tooling or a security product.' },
  'vsm.trustlet-remote-thread': { meaning: 'A thread in the trustlet started somewhere other than its own image: injected execution.', next: 'Check the start address\'s module and the process that created the thread.' },
  'vsm.trustlet-user-apc': { meaning: 'A user-mode APC is queued to a trustlet thread: a way to run code in it.', next: 'Resolve the APC routine\'s module and find who queued it.' },
  'vsm.trustlet-kernel-apc': { meaning: 'A kernel APC targets a trustlet thread from an unexpected module.', next: 'Resolve the routine\'s driver; check for unsigned or recently loaded drivers.' },
  'vsm.trustlet-private-executable': { meaning: 'A trustlet has private executable memory: code that is not from its image.', next: 'Note the range; a VTL0 dump cannot read it, so look for the injector in VTL0.' },
  'vsm.trustlet-debug-port': { meaning: 'A trustlet has a debug port set: someone attached a debugger to it.', next: 'Find the debugging process and why; trustlets are not debuggable in production.' },
  'ntos.lsass-handle-access': { meaning: 'A process holds a handle to lsass.exe with rights to read its memory: the first step of credential dumping.', next: 'Identify the holder (image, parent, command line); rule out security products, then treat as credential theft (T1003.001).' },
  'ntos.injected-code': { meaning: 'A process has private executable memory holding code (often a PE image): injected code.', next: 'Note the range and the process; look for the injecting process through handles and threads.' },
};

export const FALLBACK_GUIDANCE: Guidance = { meaning: 'See docs/analyze.md for this finding.', next: 'Review the evidence fields and the process it names.' };

function processRef(p: ProcessRecord): FindingProcess {
  return {
    pid: p.pid,
    name: fullProcessName(p),
    path: p.imagePathDos ?? p.imagePath?.text ?? null,
    commandLine: p.commandLine?.text ?? null,
    user: p.user ? (p.user.domain ? `${p.user.domain}\\${p.user.name}` : p.user.name) : null,
    createTime: p.createTime,
  };
}

/** The process a finding's evidence names: by EPROCESS VA, then PA, then a unique PID. */
export function processOfFinding(f: Finding, processes: readonly ProcessRecord[]): ProcessRecord | undefined {
  const { eprocessVa, eprocessPa, pid } = f.evidence;
  return (
    (eprocessVa ? processes.find((x) => x.eprocess.va === eprocessVa) : undefined) ??
    (eprocessPa ? processes.find((x) => x.eprocess.pa === eprocessPa) : undefined) ??
    (pid !== undefined && processes.filter((x) => x.pid === pid).length === 1 ? processes.find((x) => x.pid === pid) : undefined)
  );
}

/** Each finding with its context and guidance (existing values kept). */
export function withContext(findings: readonly Finding[], processes: readonly ProcessRecord[]): Finding[] {
  return findings.map((f) => {
    const p = processOfFinding(f, processes);
    const parent = p ? parentOf(p, processes) : undefined;
    return {
      ...f,
      context: f.context ?? { process: p ? processRef(p) : null, parent: parent ? processRef(parent) : p && p.ppid !== null ? { pid: p.ppid, name: null, path: null, commandLine: null, user: null, createTime: null } : null },
      guidance: f.guidance ?? GUIDANCE[f.rule] ?? FALLBACK_GUIDANCE,
    };
  });
}
