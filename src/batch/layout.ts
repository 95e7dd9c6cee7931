// The output directory:
//   DIR/<sha256>/{report.json, events.ndjson, report.html, report.txt, analyze.log, result.json}
//   DIR/.tmp/<sha256 prefix>-<host>-<pid>-XXXXXX/   an analysis in progress
//   DIR/index.html, DIR/index.json, DIR/events.ndjson   the fleet view, rebuilt from the results
// A result appears by one rename of its finished temp directory, so a reader sees a whole result
// or none, and of two workers that raced on one evidence file only the first rename wins.
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BadInputError } from '../errors.ts';
import { RESULT_FILES, SHA256_RE, type ResultRecord } from './types.ts';

const TMP = '.tmp';

export function resultDir(outDir: string, sha256: string): string {
  // The hash names a directory: never let anything but 64 hex digits near a path.
  if (!SHA256_RE.test(sha256)) throw new BadInputError(`not a SHA-256: ${JSON.stringify(sha256).slice(0, 80)}`, 'batch.bad-sha256');
  return join(outDir, sha256);
}

/** The short host name used in temp directory names (no '-' so names split cleanly). */
function hostTag(): string {
  return hostname().replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 64) || 'host';
}

/** A fresh private directory for one analysis, on the same file system as its final place. */
export function makeTmpDir(outDir: string, sha256: string): string {
  resultDir(outDir, sha256);
  const root = join(outDir, TMP);
  mkdirSync(root, { recursive: true });
  return mkdtempSync(join(root, `${sha256.slice(0, 16)}-${hostTag()}-${process.pid}-`));
}

export function readResult(outDir: string, sha256: string): ResultRecord | null {
  try {
    const rec = JSON.parse(readFileSync(join(resultDir(outDir, sha256), RESULT_FILES.result), 'utf8')) as ResultRecord;
    return rec && rec.schema === 'vsm-forensics/batch-result' && rec.sha256 === sha256 ? rec : null;
  } catch {
    return null;
  }
}

/** A result a rerun leaves alone: a finished analysis, or a failure that would only fail again. */
export function isSettled(rec: ResultRecord | null): rec is ResultRecord {
  return rec !== null && (rec.status === 'ok' || !rec.retryable);
}

/** Writes a file and flushes it to disk before the directory holding it is renamed into place. */
export function writeFileDurable(path: string, data: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `path` through a temp file and a rename, so readers never see half a file. */
export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.${hostTag()}-${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`;
  writeFileDurable(tmp, data);
  renameSync(tmp, path);
}

export type CommitOutcome = { readonly committed: true } | { readonly committed: false; readonly existing: ResultRecord };

/**
 * Moves a finished temp directory to DIR/<sha256>. When a result is already there, it is replaced
 * only if `replace(existing)` says so (a retryable failure, or --force); otherwise ours is dropped
 * and the existing one returned: a result is written once.
 */
export function commitResult(tmpDir: string, outDir: string, sha256: string, replace: (existing: ResultRecord | null) => boolean): CommitOutcome {
  const final = resultDir(outDir, sha256);
  try {
    renameSync(tmpDir, final);
    return { committed: true };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
  }
  const existing = readResult(outDir, sha256);
  if (!replace(existing)) {
    rmSync(tmpDir, { recursive: true, force: true });
    if (existing) return { committed: false, existing };
    throw new Error(`cannot commit ${sha256}: ${final} exists and is not a result`);
  }
  const trash = `${tmpDir}.old`;
  renameSync(final, trash);
  try {
    renameSync(tmpDir, final);
  } catch (e) {
    // Someone else committed in between: theirs stands.
    rmSync(tmpDir, { recursive: true, force: true });
    rmSync(trash, { recursive: true, force: true });
    const theirs = readResult(outDir, sha256);
    if (theirs) return { committed: false, existing: theirs };
    throw e;
  }
  rmSync(trash, { recursive: true, force: true });
  return { committed: true };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in an analysis' temp directory name under DIR/.tmp, `<prefix>-<host>-<pid>-XXXXXX[.old]` (makeTmpDir, commitResult), when it is this host's. */
function tmpDirPid(name: string, host: string): number | undefined {
  const m = /^[0-9a-f]{16}-(.+)-(\d+)-[A-Za-z0-9]{6}(\.old)?$/.exec(name);
  return m && m[1] === host ? Number(m[2]) : undefined;
}

/** The pid in a half-written file's name in DIR, `<file>.<host>-<pid>-<random>.tmp` (writeFileAtomic), when it is this host's. */
function tmpFilePid(name: string, host: string): number | undefined {
  const tail = /-(\d+)-[a-z0-9]{1,8}\.tmp$/.exec(name);
  return tail && name.slice(0, tail.index).endsWith(`.${host}`) ? Number(tail[1]) : undefined;
}

/** This host's leftovers of processes no longer running, among the entries of `dir`: removed, counted. */
function removeDead(dir: string, pidOf: (name: string, host: string) => number | undefined): number {
  const host = hostTag();
  let removed = 0;
  for (const name of readdirSync(dir)) {
    const pid = pidOf(name, host);
    if (pid === undefined || pid === process.pid || pidAlive(pid)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/**
 * Removes what dead processes of this host left (a worker killed mid-job): temp directories under
 * DIR/.tmp and half-written fleet-view files in DIR. Those of other hosts are left for their own
 * workers: a pid means nothing across machines.
 */
export function removeStaleTmp(outDir: string): number {
  let removed = 0;
  const root = join(outDir, TMP);
  try {
    removed += removeDead(root, tmpDirPid);
  } catch {
    /* no .tmp yet */
  }
  try {
    removed += removeDead(outDir, tmpFilePid);
  } catch {
    /* no output directory yet */
  }
  return removed;
}

/** Every committed result under `outDir`, by directory name. */
export function listResults(outDir: string): ResultRecord[] {
  let names: string[];
  try {
    names = readdirSync(outDir);
  } catch {
    return [];
  }
  const out: ResultRecord[] = [];
  for (const name of names.sort()) {
    if (!SHA256_RE.test(name)) continue;
    const rec = readResult(outDir, name);
    if (rec) out.push(rec);
  }
  return out;
}

/** Sizes of the regular files in a directory. */
export function fileSizes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of readdirSync(dir).sort()) {
    try {
      const st = statSync(join(dir, name));
      if (st.isFile()) out[name] = st.size;
    } catch {
      /* vanished: not listed */
    }
  }
  return out;
}
