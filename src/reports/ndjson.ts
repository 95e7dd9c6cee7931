// ECS events for a SIEM, one JSON object per line: one `state` event per process, one `alert`
// per finding, one summary event last. Fields ECS defines keep their ECS names and types; every
// field we invent lives under the custom `vsm.*` namespace (lower-case snake_case).
import { sha256 } from './sha256.ts';
import { ATTACK_FRAMEWORK, attackReference } from '../vsm/attack.ts';
import type { AttackMapping, Finding, ProcessRecord, Severity } from '../vsm/types.ts';
import { findingProcess, processKey, type Report } from './model.ts';
import { jsonStringify } from './sanitize.ts';
import { parentIndexes } from './tree.ts';
import { splitCommandLine } from './command-line.ts';
import { fullProcessName } from '../vsm/full-name.ts';

/** The ECS version the events follow (test/data/ecs_flat.json holds its field list). */
export const ECS_VERSION = '9.4.0';

/** event.severity: ordinal, higher is worse. */
export const ECS_SEVERITY: Readonly<Record<Severity, number>> = { info: 1, low: 2, medium: 3, high: 4, critical: 5 };
/** event.risk_score on Elastic Security's 0-100 rule scale. */
export const ECS_RISK: Readonly<Record<Severity, number>> = { info: 0, low: 21, medium: 47, high: 73, critical: 99 };

type Json = string | number | boolean | null | Json[] | { [k: string]: Json | undefined };
type Doc = { [k: string]: Json | undefined };

function sha256Hex(s: string): string {
  return sha256(s, 'hex');
}

/** What identifies the evidence across runs: its SHA-256, or (with --no-hash) its name, size and system time. */
function evidenceKey(r: Report): string {
  return r.evidence.sha256 ?? `${r.evidence.fileName}:${r.evidence.size}:${r.evidence.systemTime ?? ''}`;
}

/** process.entity_id: stable across runs on the same evidence, distinct across PID reuse. */
export function entityId(r: Report, p: Pick<ProcessRecord, 'eprocess' | 'createTime'>): string {
  return sha256Hex(`${evidenceKey(r)}|${processKey(p)}|${p.createTime ?? ''}`).slice(0, 32);
}

function eventId(r: Report, ...parts: (string | number)[]): string {
  return sha256Hex([evidenceKey(r), ...parts].join('|')).slice(0, 32);
}

/** Drops undefined and null members and empty objects, so absent facts are absent fields. */
function prune(v: Json | undefined): Json | undefined {
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(prune).filter((x): x is Json => x !== undefined);
  if (typeof v === 'object') {
    const out: Doc = {};
    for (const [k, x] of Object.entries(v)) {
      const y = prune(x);
      if (y !== undefined) out[k] = y;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}

function snake(key: string): string {
  const s = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return s || 'field';
}

/** Free-form finding evidence under vsm.evidence.*: keys snake_cased, depth bounded. */
function customTree(v: unknown, depth = 0): Json | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return '0x' + v.toString(16);
  if (depth >= 4) return JSON.stringify(v) ?? undefined;
  if (Array.isArray(v)) return v.map((x) => customTree(x, depth + 1) ?? null);
  if (typeof v === 'object') {
    const out: Doc = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[snake(k)] = customTree(x, depth + 1);
    return out;
  }
  return String(v);
}

function pageCounts(c: Partial<Record<'pagesMapped' | 'pagesNotResident' | 'pagesAbsent' | 'pagesUnreadable' | 'pagesReadable', number>>): Doc {
  return { mapped: c.pagesMapped, not_resident: c.pagesNotResident, absent: c.pagesAbsent, unreadable: c.pagesUnreadable, readable: c.pagesReadable };
}

function common(r: Report, at: string): Doc {
  const e = r.evidence;
  const build = e.build ?? r.kernel.build;
  return {
    '@timestamp': at,
    ecs: { version: ECS_VERSION },
    agent: { type: r.tool.name, name: r.tool.name, version: r.tool.version },
    host: {
      architecture: e.machine === 'AMD64' ? 'x86_64' : undefined,
      // The imaged machine's identity (issue 14): COMPUTERNAME as its environments agree on it.
      name: r.host?.computerName ?? undefined,
      hostname: r.host?.computerName ?? undefined,
      domain: r.host?.domain ?? r.host?.dnsDomain ?? undefined,
      uptime: uptimeSeconds(r),
      os: {
        type: 'windows',
        family: 'windows',
        platform: 'windows',
        name: r.host?.os.name ?? 'Windows',
        version: r.host?.os.version ?? undefined,
        full: r.host?.os.name && build !== null ? `${r.host.os.name} (build ${build}${r.host.os.productType ? `, ${r.host.os.productType}` : ''})` : undefined,
        // Every Windows 10/11/Server 2016+ kernel reports version 10.0; the build tells them apart.
        kernel: build !== null && build >= 10240 ? `10.0.${build}` : undefined,
      },
    },
    file: {
      path: e.path,
      name: e.fileName,
      size: e.size,
      mtime: e.mtime,
      hash: { sha256: e.sha256 },
    },
  };
}

/** Seconds from boot to the dump, when both are known. */
function uptimeSeconds(r: Report): number | undefined {
  const boot = r.host?.bootTime ? Date.parse(r.host.bootTime) : NaN;
  const dump = r.host?.dumpTime ? Date.parse(r.host.dumpTime) : NaN;
  return Number.isFinite(boot) && Number.isFinite(dump) && dump >= boot ? Math.floor((dump - boot) / 1000) : undefined;
}

/** ECS process.* for one process: full name, drive-letter executable, command line and its arguments, times, parent. */
function processFields(r: Report, p: ProcessRecord, parent: ProcessRecord | undefined): Doc {
  const cmd = p.commandLine?.text;
  const split = cmd !== undefined ? splitCommandLine(cmd) : undefined;
  const pcmd = parent?.commandLine?.text;
  return {
    pid: p.pid,
    name: fullProcessName(p),
    executable: p.imagePathDos ?? p.imagePath?.text,
    command_line: cmd,
    args: split?.args,
    args_count: split?.count,
    working_directory: p.currentDirectory?.text,
    start: p.createTime,
    end: p.exitTime,
    entity_id: entityId(r, p),
    parent: {
      pid: p.ppid ?? undefined,
      entity_id: parent ? entityId(r, parent) : undefined,
      name: parent ? fullProcessName(parent) : undefined,
      executable: parent ? (parent.imagePathDos ?? parent.imagePath?.text) : undefined,
      command_line: pcmd,
      args: pcmd !== undefined ? splitCommandLine(pcmd).args : undefined,
      start: parent?.createTime,
    },
  };
}

function userFields(p: ProcessRecord | undefined): Doc | undefined {
  return p?.user ? { name: p.user.name, domain: p.user.domain } : undefined;
}

function vsmCommon(r: Report, timestampSource: string): Doc {
  return {
    schema_version: r.schemaVersion,
    timestamp_source: timestampSource,
    case: { id: r.run.case },
    examiner: r.run.examiner,
    verdict: r.vsm.verdict,
    partial: r.partial.partial,
    evidence_format: r.evidence.format,
    dump_type: r.evidence.dumpType,
  };
}

/** STATUS_PENDING: the exit status of a process that has not exited. */
const STATUS_PENDING = 0x103;

/**
 * The process internals a SIEM can filter on, under vsm.*: the nine extended flags, debug port,
 * priority, token summary and counts. Individual threads, handles and VADs are not events (a process
 * has thousands); those involved in a finding are in that alert's vsm.evidence.
 */
function internalsFields(p: ProcessRecord): Doc {
  const x = p.extendedInfo;
  const t = p.token;
  return {
    extended_info: x
      ? {
          flags: x.flags,
          known_flags: x.knownFlags,
          unknown_mask: x.unknownMask,
          is_protected_process: x.isProtectedProcess,
          is_wow64_process: x.isWow64Process,
          is_process_deleting: x.isProcessDeleting,
          is_cross_session_create: x.isCrossSessionCreate,
          is_frozen: x.isFrozen,
          is_background: x.isBackground,
          is_strongly_named: x.isStronglyNamed,
          is_secure_process: x.isSecureProcess,
          is_subsystem_process: x.isSubsystemProcess,
        }
      : undefined,
    debug_port: p.debugPort,
    base_priority: p.basePriority,
    exit_status: p.exitStatus,
    token: t
      ? {
          user_sid: t.user?.sid,
          user_name: t.user?.name,
          integrity_level: t.integrity?.level,
          package_sid: t.package?.sid,
          privileges_enabled: t.privileges.filter((x) => x.enabled).map((x) => x.name),
        }
      : undefined,
    counts: p.threads !== undefined || p.handles !== undefined || p.vads !== undefined ? { threads: p.threads?.length, handles: p.handles?.length, vads: p.vads?.length } : undefined,
  };
}

function processEvent(r: Report, p: ProcessRecord, parent: ProcessRecord | undefined, base: Doc, vsmBase: Doc): Doc {
  const iso = p.isolation;
  const flags = [p.secure ? 'secure' : '', p.protection?.raw ? p.protection.text : '', p.terminated ? 'terminated' : '', p.unlinked ? 'unlinked' : ''].filter(Boolean);
  return {
    ...base,
    event: {
      kind: 'state',
      category: ['process'],
      type: ['info'],
      module: 'vsm_forensics',
      dataset: 'vsm_forensics.process',
      created: r.run.finishedAt,
      id: eventId(r, 'process', processKey(p)),
    },
    message: `${p.name.text} (PID ${p.pid}, PPID ${p.ppid ?? 'unknown'})${flags.length ? ' ' + flags.join(', ') : ''}`,
    process: { ...processFields(r, p, parent), exit_code: p.terminated && p.exitStatus != null && p.exitStatus !== STATUS_PENDING ? p.exitStatus : undefined },
    user: userFields(p),
    vsm: {
      ...vsmBase,
      ...internalsFields(p),
      secure: p.secure,
      trustlet: p.trustlet ? { id: p.trustlet.id, name: p.trustlet.name } : undefined,
      protection: p.protection ? { raw: p.protection.raw, type: p.protection.type, signer: p.protection.signer, audit: p.protection.audit, level: p.protection.text } : undefined,
      isolation: iso
        ? {
            verdict: iso.verdict,
            reason: iso.reason,
            pages: pageCounts(iso),
            sample_readable: [...iso.sampleReadable],
            partial: iso.partial,
            table_pages_absent: iso.tablePagesAbsent,
          }
        : undefined,
      eprocess: { va: p.eprocess.va, pa: p.eprocess.pa },
      dtb: p.dtb,
      peb: p.peb,
      session_id: p.sessionId,
      wow64: p.wow64,
      sources: [...p.sources],
      terminated: p.terminated,
      unlinked: p.unlinked,
      unreadable_fields: p.unreadableFields ? [...p.unreadableFields] : undefined,
      name_raw_hex: p.name.rawHex,
      image_file_name: p.name.text,
      image_path_nt: p.imagePath?.text,
      executable_raw_hex: p.imagePath?.rawHex,
      executable_source: p.imagePathDos ? (p.imagePathDosSource ?? undefined) : p.imagePath ? 'nt-device-path' : undefined,
      environment: p.environment ? Object.fromEntries(Object.entries(p.environment).map(([k, v]) => [snake(k), v])) : undefined,
      dll_count: p.dlls ? p.dlls.length : undefined,
      detail_reasons: p.detailReasons ? Object.fromEntries(Object.entries(p.detailReasons).map(([k, v]) => [snake(k), v])) : undefined,
    },
  };
}

/** ECS threat.* for a finding's ATT&CK mapping (ECS declares each of these fields an array). */
function threatFields(a: AttackMapping | undefined): Doc | undefined {
  if (!a) return undefined;
  return {
    framework: ATTACK_FRAMEWORK,
    tactic: { id: [a.tacticId], name: [a.tacticName], reference: [attackReference(a.tacticId)] },
    technique: {
      id: [a.techniqueId],
      name: [a.techniqueName],
      reference: [attackReference(a.techniqueId)],
      subtechnique: a.subtechniqueId ? { id: [a.subtechniqueId], name: a.subtechniqueName ? [a.subtechniqueName] : undefined, reference: [attackReference(a.subtechniqueId)] } : undefined,
    },
  };
}

const PARENTS = new WeakMap<Report, { index: Map<ProcessRecord, number>; parents: number[] }>();
/** The parent record the process tree gives (computed once per report). */
function parentOf(r: Report, p: ProcessRecord): ProcessRecord | undefined {
  let c = PARENTS.get(r);
  if (!c) {
    c = { index: new Map(r.processes.map((x, i) => [x, i])), parents: parentIndexes(r.processes) };
    PARENTS.set(r, c);
  }
  const i = c.parents[c.index.get(p) ?? -1];
  return i !== undefined && i >= 0 ? r.processes[i] : undefined;
}

function findingEvent(r: Report, f: Finding, index: number, base: Doc, vsmBase: Doc): Doc {
  const p = findingProcess(r.processes, f);
  const { pid, eprocessVa, eprocessPa, address, pages, sampleAddresses, ...rest } = f.evidence;
  return {
    ...base,
    event: {
      kind: 'alert',
      category: [f.evidence.pid !== undefined || eprocessVa || eprocessPa ? 'process' : 'host'],
      type: ['info'],
      module: 'vsm_forensics',
      dataset: 'vsm_forensics.finding',
      created: r.run.finishedAt,
      severity: ECS_SEVERITY[f.severity],
      risk_score: ECS_RISK[f.severity],
      id: eventId(r, 'finding', index, f.rule, eprocessVa ?? eprocessPa ?? pid ?? ''),
    },
    rule: { id: f.rule, name: f.rule, description: f.title, ruleset: r.tool.name, category: f.rule.split('.')[0] },
    message: f.message,
    threat: threatFields(f.attack),
    process: p ? { ...processFields(r, p, parentOf(r, p)), thread: typeof rest.tid === 'number' ? { id: rest.tid } : undefined } : pid !== undefined ? { pid } : undefined,
    user: userFields(p),
    vsm: {
      ...vsmBase,
      finding: { severity: f.severity, title: f.title },
      guidance: f.guidance ? { meaning: f.guidance.meaning, next: f.guidance.next } : undefined,
      evidence: {
        pid,
        eprocess_va: eprocessVa,
        eprocess_pa: eprocessPa,
        address,
        pages: pages ? pageCounts(pages) : undefined,
        sample_addresses: sampleAddresses ? [...sampleAddresses] : undefined,
        ...(customTree(rest) as Doc | undefined),
      },
    },
  };
}

function summaryEvent(r: Report, base: Doc, vsmBase: Doc): Doc {
  const s = r.summary;
  const k = r.kernel;
  return {
    ...base,
    event: {
      kind: 'event',
      category: ['host'],
      type: ['info'],
      action: 'vsm-analysis',
      outcome: 'success',
      module: 'vsm_forensics',
      dataset: 'vsm_forensics.summary',
      created: r.run.finishedAt,
      start: r.run.startedAt,
      end: r.run.finishedAt,
      duration: Math.round(r.run.durationMs * 1e6),
      id: eventId(r, 'summary'),
    },
    message:
      `VSM verdict: ${r.vsm.verdict}. ${r.vsm.reason} ` +
      `${s.processes} processes, ${s.secure} secure, ${s.protected} protected, ${s.unlinked} unlinked; ` +
      `${r.findings.length} findings${s.highestSeverity ? ` (highest ${s.highestSeverity})` : ''}` +
      (r.partial.partial ? '; results are partial.' : '.'),
    vsm: {
      ...vsmBase,
      verdict_reason: r.vsm.reason,
      posture: {
        secure_processes: r.vsm.posture.secureProcesses,
        secure_system_present: r.vsm.posture.secureSystemPresent,
        credential_guard: r.vsm.posture.credentialGuard,
        dump_origin: r.vsm.posture.dumpOrigin,
        evidence: [...r.vsm.posture.evidence],
      },
      baseline: { ...pageCounts(r.vsm.baseline), processes: r.vsm.baseline.processes },
      counts: {
        processes: s.processes,
        secure: s.secure,
        trustlets: s.trustlets,
        protected: s.protected,
        terminated: s.terminated,
        unlinked: s.unlinked,
        findings: { ...s.findings },
      },
      highest_severity: s.highestSeverity,
      host: r.host
        ? {
            computer_name_source: r.host.computerNameSource,
            computer_name_conflicts: r.host.conflicts.map((c) => ({ value: c.value, pids: [...c.pids] })),
            dns_domain: r.host.dnsDomain,
            product_type: r.host.os.productType,
            boot_time: r.host.bootTime,
            dump_time: r.host.dumpTime,
            dump_time_source: r.host.dumpTimeSource,
            drives: r.host.drives.map((d) => ({ letter: d.letter, target: d.target })),
            reasons: [...r.host.reasons],
          }
        : undefined,
      partial_reasons: [...r.partial.reasons],
      missing_ranges: r.partial.missingRanges.map((m) => ({ start: m.start, pages: m.pages, reason: m.reason })),
      caps_hit: r.capsHit.map((c) => ({ cap: c.cap, limit: c.limit })),
      stats: { listed: r.stats.listed, scanned: r.stats.scanned, scan_hits: r.stats.scanHits, pages_scanned: r.stats.pagesScanned },
      kernel: {
        base: k.base,
        build: k.build,
        dtb: k.dtb,
        symbols_source: k.symbolsSource,
        discovery: k.discovery,
        pdb: k.pdb ? { name: k.pdb.name, guid: k.pdb.guid, age: k.pdb.age } : undefined,
      },
      run: { command_line: r.run.commandLine, host: r.run.host, tool_commit: r.tool.commit },
    },
  };
}

/** The events as objects (nested, nulls dropped), in output order, one at a time. */
export function* ndjsonEventStream(report: Report): Generator<Record<string, unknown>> {
  const at = report.evidence.systemTime ?? report.run.startedAt;
  const base = common(report, at);
  const parents = parentIndexes(report.processes);
  const vsmBase = vsmCommon(report, report.evidence.systemTime ? 'dump-system-time' : 'run-start');
  const done = (e: Doc) => (prune(e) ?? {}) as Record<string, unknown>;
  for (let i = 0; i < report.processes.length; i++) {
    yield done(processEvent(report, report.processes[i], parents[i] >= 0 ? report.processes[parents[i]] : undefined, base, vsmBase));
  }
  for (let i = 0; i < report.findings.length; i++) yield done(findingEvent(report, report.findings[i], i, base, vsmBase));
  yield done(summaryEvent(report, base, vsmBase));
}

/** The events as objects (nested, nulls dropped), in output order. */
export function ndjsonEvents(report: Report): Record<string, unknown>[] {
  return [...ndjsonEventStream(report)];
}

/** The NDJSON text one line at a time (each line valid JSON in valid UTF-8, ending in a newline). */
export function* renderNdjsonLines(report: Report): Generator<string> {
  for (const e of ndjsonEventStream(report)) yield jsonStringify(e) + '\n';
}

/** One ECS event per line, each line valid JSON in valid UTF-8, with a trailing newline. */
export function renderNdjson(report: Report): string {
  return [...renderNdjsonLines(report)].join('');
}
