// What a queue job carries: an EvidenceJob (paths, hash, size, output dir, analyze options) and
// nothing else — never evidence bytes. Whatever comes out of Redis is checked before it names a
// file or reaches a command line: Redis is shared, so its contents are input like any other.
import { isAbsolute } from 'node:path';
import { BadInputError } from '../../errors.ts';
import { SHA256_RE, type AnalyzeOptions, type EvidenceJob } from '../types.ts';

const MAX_STR = 4096;

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_STR || v.includes('\0')) throw new BadInputError(`queue job: bad ${what}`, 'queue.bad-job');
  return v;
}

function absPath(v: unknown, what: string): string {
  const s = str(v, what);
  if (!isAbsolute(s)) throw new BadInputError(`queue job: ${what} must be an absolute path`, 'queue.bad-job');
  return s;
}

function options(v: unknown): AnalyzeOptions {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new BadInputError('queue job: bad options', 'queue.bad-job');
  const o = v as Record<string, unknown>;
  const known = new Set(['symbols', 'symbolServer', 'scan', 'case', 'examiner', 'timeoutSec']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new BadInputError(`queue job: unknown option ${JSON.stringify(k).slice(0, 40)}`, 'queue.bad-job');
  const out: { -readonly [K in keyof AnalyzeOptions]: AnalyzeOptions[K] } = {};
  if (o.symbols !== undefined) {
    if (!Array.isArray(o.symbols) || o.symbols.length > 64) throw new BadInputError('queue job: bad symbols', 'queue.bad-job');
    out.symbols = o.symbols.map((s) => absPath(s, 'symbols path'));
  }
  if (o.symbolServer !== undefined) out.symbolServer = str(o.symbolServer, 'symbol server');
  if (o.scan !== undefined) {
    if (typeof o.scan !== 'boolean') throw new BadInputError('queue job: bad scan flag', 'queue.bad-job');
    out.scan = o.scan;
  }
  if (o.case !== undefined) out.case = str(o.case, 'case id');
  if (o.examiner !== undefined) out.examiner = str(o.examiner, 'examiner');
  if (o.timeoutSec !== undefined) {
    if (typeof o.timeoutSec !== 'number' || !(o.timeoutSec >= 0) || o.timeoutSec > 7 * 86400) throw new BadInputError('queue job: bad timeout', 'queue.bad-job');
    out.timeoutSec = o.timeoutSec;
  }
  return out;
}

/** An ISO-8601 UTC timestamp as `Date.prototype.toISOString` writes it. */
const ISO_UTC_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

function isoTime(v: unknown, what: string): string {
  if (typeof v !== 'string' || !ISO_UTC_RE.test(v) || Number.isNaN(Date.parse(v))) throw new BadInputError(`queue job: ${what} is not an ISO-8601 UTC time`, 'queue.bad-job');
  return v;
}

export function parseJobData(data: unknown, jobId: string | undefined): EvidenceJob {
  if (!data || typeof data !== 'object') throw new BadInputError('queue job: no data', 'queue.bad-job');
  const d = data as Record<string, unknown>;
  const sha256 = str(d.sha256, 'sha256');
  if (!SHA256_RE.test(sha256)) throw new BadInputError('queue job: sha256 is not 64 lower-case hex digits', 'queue.bad-job');
  if (jobId !== undefined && jobId !== sha256) throw new BadInputError('queue job: the job id is not the evidence SHA-256', 'queue.bad-job');
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new BadInputError('queue job: bad size', 'queue.bad-job');
  const sha256At = d.sha256At === undefined ? undefined : isoTime(d.sha256At, 'sha256At');
  return {
    path: absPath(d.path, 'evidence path'),
    sha256,
    ...(sha256At !== undefined ? { sha256At } : {}),
    size: d.size,
    outDir: absPath(d.outDir, 'output directory'),
    options: options(d.options),
    queuedAt: typeof d.queuedAt === 'string' ? d.queuedAt.slice(0, 64) : new Date().toISOString(),
  };
}
