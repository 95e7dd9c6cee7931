// Issue 14's fields against a generated dump's ground truth: command line, current directory, kept
// environment, DLLs, user and drive-letter image path per process (where the form holds the pages),
// and the host identity.
import type { ExecutionContext } from 'ava';
import type { Truth } from '../../samples/truth.ts';
import type { Analysis } from '../../src/vsm/types.ts';
import { decodeUtf16 } from '../../src/ntos/strings.ts';

/** A truth string as a report shows it (control characters escaped, as src/ntos/strings.ts does). */
const shown = (s: string | null): string | null => (s === null ? null : decodeUtf16(Buffer.from(s, 'utf16le')).text);

export function checkDetailsAgainstTruth(t: ExecutionContext, a: Analysis, truth: Truth, label: string): void {
  const truncated = truth.memory.truncated !== null;
  const byPid = new Map(a.processes.map((p) => [p.pid, p]));
  let compared = 0;
  for (const want of truth.processes) {
    const got = byPid.get(want.pid);
    if (!got) continue;
    const at = `${label} pid ${want.pid} (${want.name})`;
    const gotView = {
      commandLine: got.commandLine?.text ?? null,
      currentDirectory: got.currentDirectory?.text ?? null,
      environment: got.environment ?? null,
      dlls: got.dlls ?? null,
      user: got.user ?? null,
    };
    const wantView = {
      commandLine: shown(want.commandLine),
      currentDirectory: shown(want.currentDirectory),
      environment: want.environment ? Object.fromEntries(Object.entries(want.environment).map(([k, v]) => [k, shown(v)])) : null,
      dlls: want.dlls ? want.dlls.map((d) => ({ ...d, path: shown(d.path) })) : null,
      user: want.user,
    };
    if (want.userDetailsInFile && want.userTablesInFile && !truncated) {
      t.deepEqual(gotView, wantView, `${at}: PEB-side fields`);
      compared++;
    } else {
      // The pages are not all in this form: each field is the truth or null, never something else.
      for (const k of Object.keys(gotView) as (keyof typeof gotView)[]) if (gotView[k] !== null) t.deepEqual(gotView[k], wantView[k], `${at}: ${k} (pages partly absent)`);
    }
    for (const k of Object.keys(gotView) as (keyof typeof gotView)[]) if (gotView[k] === null) t.truthy(got.detailReasons?.[k], `${at}: ${k} null with a reason`);
    if (got.imagePathDos !== null || !truncated) t.is(got.imagePathDos ?? null, shown(want.imagePathDos), `${at}: drive-letter image path`);
  }
  if (truth.processes.some((p) => p.userDetailsInFile && p.environment && !p.terminated) && !truncated) {
    t.true(compared > 0, `${label}: some process compared`);
    t.is(a.host?.computerName ?? null, truth.host.computerName, `${label}: computer name`);
    t.is(a.host?.domain ?? null, truth.host.domain, `${label}: domain`);
  } else if (a.host?.computerName) t.is(a.host.computerName, truth.host.computerName as string, `${label}: computer name (partial)`);
  if (!truncated) {
    t.is(a.host?.bootTime ?? null, truth.host.bootTime, `${label}: boot time`);
    t.is(a.host?.dumpTime ?? null, truth.host.dumpTime, `${label}: dump time`);
    t.is(a.host?.os.productType ?? null, truth.host.os.productType, `${label}: product type`);
    t.deepEqual(a.host?.drives ?? [], truth.host.drives, `${label}: drive letters`);
  }
}
