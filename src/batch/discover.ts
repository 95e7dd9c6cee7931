// Which files a batch analyzes. Files named on the command line are always taken. Directories are
// walked (symlinked directories are not followed, so no cycles) and each file is judged by its
// content, never its name: raw images have no signature, but no memory image starts with a page of
// text, while the ground-truth JSON, reports and notes that sit beside dumps do.
import { closeSync, openSync, readSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { InputPathError } from '../errors.ts';

export interface Candidate {
  readonly path: string;
  readonly size: number;
  readonly mtime: string;
}

export interface Discovery {
  readonly files: Candidate[];
  /** Files skipped while walking directories, with why. */
  readonly skipped: { readonly path: string; readonly reason: string }[];
}

const SNIFF = 4096;

/** True when the first 4 KiB look like text (UTF-8 without NUL or other binary control bytes). */
export function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return true;
  for (const b of head) {
    if (b === 0) return false;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) return false;
  }
  // Reject invalid UTF-8 (binary data with no NUL in its first page): TextDecoder in fatal mode.
  // A multi-byte character cut at the end of the sniff window is not a reason to reject.
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length === SNIFF ? SNIFF - 3 : head.length));
    return true;
  } catch {
    return false;
  }
}

function head(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF);
    const n = readSync(fd, buf, 0, SNIFF, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Expands files and directories into evidence candidates, de-duplicated by real path, in a stable
 * (sorted) order. `exclude` are directories never entered (the output directory).
 */
export function discoverEvidence(inputs: readonly string[], exclude: readonly string[] = []): Discovery {
  const files: Candidate[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const seen = new Set<string>();
  const excluded = exclude.map((d) => {
    try {
      return realpathSync(d);
    } catch {
      return resolve(d);
    }
  });
  const isExcluded = (real: string) => excluded.some((d) => real === d || real.startsWith(d + sep));

  const add = (path: string, fromWalk: boolean) => {
    let real: string;
    try {
      real = realpathSync(path);
    } catch (e) {
      throw new InputPathError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (seen.has(real)) return;
    const st = statSync(real);
    if (!st.isFile()) {
      if (!fromWalk) throw new InputPathError(`${path} is neither a file nor a directory`);
      return;
    }
    if (fromWalk) {
      if (st.size === 0) return void skipped.push({ path: real, reason: 'empty' });
      try {
        if (looksLikeText(head(real))) return void skipped.push({ path: real, reason: 'text, not a memory image' });
      } catch (e) {
        return void skipped.push({ path: real, reason: `unreadable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      }
    }
    seen.add(real);
    files.push({ path: real, size: st.size, mtime: st.mtime.toISOString() });
  };

  const walk = (dir: string) => {
    if (isExcluded(dir)) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      skipped.push({ path: dir, reason: `unreadable directory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const ent of entries) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile()) add(p, true);
      else if (ent.isSymbolicLink()) {
        // A link to a file is followed; a link to a directory is not (cycles).
        try {
          if (statSync(p).isFile()) add(p, true);
        } catch {
          skipped.push({ path: p, reason: 'dangling symbolic link' });
        }
      }
    }
  };

  for (const input of inputs) {
    let st;
    try {
      st = statSync(input);
    } catch (e) {
      throw new InputPathError(`cannot read ${input}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (st.isDirectory()) walk(realpathSync(input));
    else add(input, false);
  }
  return { files, skipped };
}
