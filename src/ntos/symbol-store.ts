// Where kernel symbol files live on disk and on symbol servers: Volatility 3's ISF layout
// (`windows/<pdb>/<GUID>-<AGE>.json.xz`), Microsoft's symbol-store layout
// (`<pdb>/<GUID><AGEHEX>/<pdb>`), `_NT_SYMBOL_PATH` syntax, and a download from a symbol server
// that the user named. Nothing here decides the resolution order (symbols.ts does).
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** A PDB as a PE's CodeView RSDS record names it: GUID upper-case hex without dashes, age as stored. */
export interface PdbIdentity {
  readonly name: string;
  readonly guid: string;
  readonly age: number;
}

export const MICROSOFT_SYMBOL_SERVER = 'https://msdl.microsoft.com/download/symbols';
const MSF_MAGIC = Buffer.from('Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0', 'latin1');
/** Largest PDB we download (ntkrnlmp.pdb is ~10 MB; the biggest Windows PDBs stay well under this). */
export const MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024;
export const DOWNLOAD_TIMEOUT_MS = 120_000;

/** Symbol-store directory name: GUID then the age in upper-case hex (`…B844` + `1`). */
export function storeKey(id: PdbIdentity): string {
  return `${id.guid.toUpperCase()}${id.age.toString(16).toUpperCase()}`;
}

/** `ntkrnlmp.pdb/<GUID><AGEHEX>/ntkrnlmp.pdb` (always with forward slashes). */
export function storeRelPath(id: PdbIdentity): string {
  return `${id.name}/${storeKey(id)}/${id.name}`;
}

/** `windows/ntkrnlmp.pdb/<GUID>-<AGE>.json.xz` (age in decimal, as Volatility 3 names it). */
export function isfRelPath(id: PdbIdentity): string {
  return `windows/${id.name}/${id.guid.toUpperCase()}-${id.age}.json.xz`;
}

export function symbolServerUrl(server: string, id: PdbIdentity): string {
  return `${server.replace(/\/+$/, '')}/${storeRelPath(id)}`;
}

/** The cache our downloads go to (and that every lookup searches): $VSM_SYMBOL_CACHE, else XDG. */
export function defaultSymbolCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VSM_SYMBOL_CACHE) return env.VSM_SYMBOL_CACHE;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'vsm-forensics', 'symbols');
}

export type SymbolPathEntry =
  /** A directory searched in every layout we know (flat, symbol store, Volatility). */
  | { kind: 'dir'; path: string }
  /** `cache*dir`: a local store that later server entries download into. */
  | { kind: 'cache'; path: string }
  /** `srv*[store*…]url`: local stores searched in order, then the server (downloads go to the first store). */
  | { kind: 'srv'; stores: string[]; url?: string };

/**
 * Parses `_NT_SYMBOL_PATH`: `;`-separated entries; `srv*a*b*url` and `symsrv*symsrv.dll*a*url`
 * (case-insensitive), `cache*dir` (an empty dir means our default cache), and plain directories.
 * Windows drive paths (`c:\sym`) survive because only `*` and `;` separate.
 */
export function parseNtSymbolPath(value: string, defaultCache = defaultSymbolCache()): SymbolPathEntry[] {
  const out: SymbolPathEntry[] = [];
  for (const raw of value.split(';')) {
    const entry = raw.trim();
    if (!entry) continue;
    const parts = entry.split('*').map((p) => p.trim());
    const head = parts[0].toLowerCase();
    if (head === 'srv' || head === 'symsrv') {
      const rest = head === 'symsrv' ? parts.slice(2) : parts.slice(1); // symsrv*symsrv.dll*…
      const items = rest.filter((p) => p.length > 0);
      const last = items[items.length - 1];
      const isUrl = last !== undefined && /^https?:\/\//i.test(last);
      const stores = isUrl ? items.slice(0, -1) : items;
      // `srv*url` with no store: symsrv's default downstream store; ours is our cache.
      out.push({ kind: 'srv', stores: stores.length ? stores : [defaultCache], url: isUrl ? last : undefined });
    } else if (head === 'cache') {
      out.push({ kind: 'cache', path: parts[1] ? parts[1] : defaultCache });
    } else if (parts.length === 1 && !/^https?:\/\//i.test(entry)) {
      out.push({ kind: 'dir', path: entry });
    }
    // Other `*` forms (e.g. a bare `http://…` without srv*) are not symbol paths we can search.
  }
  return out;
}

export type CandidateKind = 'pdb' | 'isf' | 'pdb-compressed';

export interface Candidate {
  readonly path: string;
  readonly kind: CandidateKind;
  /** Which layout matched, e.g. `symbol store`, `Volatility ISF`. */
  readonly layout: string;
}

const ISF_EXTS = ['.json.xz', '.json', '.json.gz'];

/**
 * Files in `dir` that may hold `id`'s symbols, in every layout we know, existing ones only:
 * symbol store (`<pdb>/<KEY>/<pdb>`, also a CAB-compressed `.pd_` we report but cannot expand),
 * Volatility (`windows/<pdb>/<GUID>-<AGE>.json.xz` with the dir itself or its `windows`/`<pdb>`
 * level given), and a flat `<GUID>-<AGE>.json.xz` or `<pdb>` directly in the directory.
 */
export function findInDirectory(dir: string, id: PdbIdentity): Candidate[] {
  const out: Candidate[] = [];
  const add = (path: string, kind: CandidateKind, layout: string) => {
    try {
      if (statSync(path).isFile() && !out.some((c) => c.path === path)) out.push({ path, kind, layout });
    } catch {
      /* not there */
    }
  };
  const guid = id.guid.toUpperCase();
  // Stores written on Windows may hold a lower-case key; Linux file systems are case-sensitive.
  for (const key of new Set([storeKey(id), storeKey(id).toLowerCase()])) {
    add(join(dir, id.name, key, id.name), 'pdb', 'symbol store');
    add(join(dir, id.name, key, id.name.replace(/.$/, '_')), 'pdb-compressed', 'symbol store (compressed)');
  }
  for (const stem of new Set([`${guid}-${id.age}`, `${guid.toLowerCase()}-${id.age}`])) {
    for (const ext of ISF_EXTS) {
      add(join(dir, 'windows', id.name, stem + ext), 'isf', 'Volatility ISF');
      add(join(dir, id.name, stem + ext), 'isf', 'Volatility ISF');
      add(join(dir, 'symbols', 'windows', id.name, stem + ext), 'isf', 'Volatility ISF');
      add(join(dir, stem + ext), 'isf', 'flat ISF');
    }
  }
  return out;
}

/** What kind of symbol file `path` is, by content. */
export function sniffSymbolFile(path: string): 'pdb' | 'isf' | 'directory' | 'missing' | 'unknown' {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 'missing';
  }
  if (st.isDirectory()) return 'directory';
  if (!st.isFile()) return 'unknown';
  const head = Buffer.alloc(32);
  const fd = openSync(path, 'r');
  let n = 0;
  try {
    n = readSync(fd, head, 0, 32, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 32 && head.equals(MSF_MAGIC)) return 'pdb';
  if (n >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'isf';
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'isf';
  const text = head.subarray(0, n).toString('latin1').trimStart();
  if (text.startsWith('{')) return 'isf';
  return 'unknown';
}

export interface DownloadResult {
  readonly ok: boolean;
  readonly url: string;
  /** Where the PDB was stored (ok only). */
  readonly path?: string;
  readonly bytes?: number;
  /** Why not, one line (HTTP status, network error, not a PDB, too large). */
  readonly reason?: string;
}

/**
 * GETs `<server>/<pdb>/<KEY>/<pdb>` and stores it at `<cache>/<pdb>/<KEY>/<pdb>` (written to a
 * temporary name, then renamed, so a failed download never leaves a half file where lookups see it).
 * The body must be an MSF 7.0 PDB and at most MAX_DOWNLOAD_BYTES. Servers that hold only the
 * CAB-compressed `.pd_` are reported, not expanded.
 */
export async function downloadPdb(
  server: string,
  id: PdbIdentity,
  cacheDir: string,
  opts: { timeoutMs?: number; maxBytes?: number } = {},
): Promise<DownloadResult> {
  const url = symbolServerUrl(server, id);
  const maxBytes = opts.maxBytes ?? MAX_DOWNLOAD_BYTES;
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(opts.timeoutMs ?? DOWNLOAD_TIMEOUT_MS) });
  } catch (e) {
    return { ok: false, url, reason: `request failed: ${oneLine(e)}` };
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    let reason = `HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`;
    if (res.status === 404) {
      const cab = url.replace(/.$/, '_');
      const head = await fetch(cab, { method: 'HEAD', signal: AbortSignal.timeout(opts.timeoutMs ?? DOWNLOAD_TIMEOUT_MS) }).catch(() => undefined);
      if (head?.ok) reason += `; the server has the CAB-compressed ${cab}: fetch it and expand it (cabextract) into the store`;
    }
    return { ok: false, url, reason };
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return { ok: false, url, reason: `response is ${declared} bytes, more than the ${maxBytes}-byte limit` };
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        total += chunk.length;
        if (total > maxBytes) return { ok: false, url, reason: `response exceeds the ${maxBytes}-byte limit` };
        chunks.push(Buffer.from(chunk));
      }
    }
  } catch (e) {
    return { ok: false, url, reason: `download interrupted: ${oneLine(e)}` };
  }
  const body = Buffer.concat(chunks, total);
  if (body.length < 32 || !body.subarray(0, 32).equals(MSF_MAGIC)) {
    return { ok: false, url, reason: `the response (${body.length} bytes) is not an MSF 7.0 PDB` };
  }
  const dest = join(cacheDir, ...storeRelPath(id).split('/'));
  try {
    mkdirSync(dirname(dest), { recursive: true });
    const tmp = `${dest}.${process.pid}.part`;
    writeFileSync(tmp, body);
    renameSync(tmp, dest);
  } catch (e) {
    return { ok: false, url, reason: `cannot store it in ${cacheDir}: ${oneLine(e)}` };
  }
  return { ok: true, url, path: dest, bytes: body.length };
}

/** Removes a cached file we stored (used when it proves to be the wrong PDB). */
export function discardCached(path: string): void {
  try {
    if (existsSync(path)) unlinkSync(path);
  } catch {
    /* best effort */
  }
}

function oneLine(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  const msg = err?.message ?? String(e);
  const cause = err?.cause?.code ?? err?.cause?.message;
  return (cause && !msg.includes(cause) ? `${msg} (${cause})` : msg).split('\n')[0];
}
