// The HTML report in a real browser (Debian's Chromium driven by playwright-core): it loads with
// no console error and no request beyond the file itself, shows the verdict, filters and sorts
// the process table, prints without the controls, and a hostile sample's names stay text.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildReport, renderHtml, type Report } from '../src/reports/index.ts';
import * as F from './reports-fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
const TMP = fileURLToPath(new URL('./.tmp/reports-browser/', import.meta.url));
mkdirSync(TMP, { recursive: true });

let context: BrowserContext;
let profile: string;

test.before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  profile = mkdtempSync(join(TMP, 'profile-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
  });
});

test.after.always(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

interface Loaded {
  page: Page;
  url: string;
  requests: string[];
  routed: string[];
  consoleErrors: string[];
  dialogs: string[];
}

/** Writes the report, opens it, and records every request, console error, page error and dialog. */
async function open(name: string, report: Report): Promise<Loaded> {
  const file = join(TMP, `${name}.html`);
  writeFileSync(file, renderHtml(report));
  const url = pathToFileURL(file).href;
  const page = await context.newPage();
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];
  const routed: string[] = [];
  // Both views of the network: what reached the router (and was aborted unless it is the page) and
  // every request event; each must list the page alone.
  await page.route('**/*', (route) => {
    routed.push(route.request().url());
    return route.request().url() === url ? route.continue() : route.abort();
  });
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(150); // let any (injected) onerror/onload handler fire
  return { page, url, requests, routed, consoleErrors, dialogs };
}

const visibleRows = (page: Page) => page.locator('#proc tbody tr:not([hidden])');

test.serial('the report loads with no console error and no network request, shows the verdict, filters to lsaiso', async (t) => {
  const report = buildReport(F.credentialGuard(), F.runInfo(), F.evidenceInfo());
  const { page, url, requests, routed, consoleErrors, dialogs } = await open('credential-guard', report);
  t.deepEqual(consoleErrors, []);
  t.deepEqual(requests, [url], 'only the file:// page itself');
  t.deepEqual(routed, [url]);
  t.deepEqual(dialogs, []);

  await t.notThrowsAsync(page.locator('#verdict').waitFor());
  t.regex(await page.locator('#verdict').innerText(), /ISOLATED/);
  const fontSize = await page.locator('#verdict').evaluate((el) => parseFloat((globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(el).fontSize));
  t.true(fontSize >= 32, `verdict in large type (${fontSize}px)`);
  t.regex(await page.locator('header').innerText(), /2024-031[\s\S]*J\. Smith[\s\S]*vsm-forensics 0\.1\.0/);
  t.regex(await page.locator('#evidence').innerText(), /9f2c1d7e4b3a5968e0d1c2b3a4958677f1e2d3c4b5a69788e9f0a1b2c3d4e5f6/);

  t.is(await visibleRows(page).count(), report.processes.length);
  await page.fill('#filter', 'lsaiso');
  t.is(await visibleRows(page).count(), 1, 'filtering to lsaiso leaves one row');
  t.regex(await visibleRows(page).first().innerText(), /LsaIso\.exe[\s\S]*secure/);
  t.regex(await page.locator('#shown').innerText(), /^1 of 21 processes/);
  await page.fill('#filter', 'unlinked');
  t.is(await visibleRows(page).count(), 0);
  await page.fill('#filter', '');
  t.is(await visibleRows(page).count(), report.processes.length);

  // Sorting by PID, then back to tree order.
  await page.click('#proc thead th:nth-child(1) button');
  const pids = async () => (await page.locator('#proc tbody tr td:nth-child(1)').allInnerTexts()).map(Number);
  const asc = await pids();
  t.deepEqual(asc, [...asc].sort((a, b) => a - b));
  await page.click('#proc thead th:nth-child(1) button');
  const desc = await pids();
  t.deepEqual(desc, [...asc].reverse());
  // Sorting by create time is chronological, whatever the number of fraction digits.
  await page.click('#proc thead th:nth-child(7) button');
  const created = (await page.locator('#proc tbody tr td:nth-child(7)').evaluateAll((tds) => tds.map((td) => (td as unknown as { getAttribute(n: string): string }).getAttribute('data-v')))).map(Number);
  t.deepEqual(created, [...created].sort((x, y) => x - y));
  t.is(await page.locator('#proc tbody tr:first-child td.name > .pname').innerText(), 'System', 'System started first');
  await page.click('#tree-order');
  t.is((await pids())[0], 4, 'tree order starts at System');

  // Print: controls hidden, every section still there.
  await page.emulateMedia({ media: 'print' });
  t.false(await page.locator('#filter').isVisible());
  t.true(await page.locator('#trustlets svg.bar').first().isVisible());
  await page.emulateMedia({ media: 'screen' });
  t.deepEqual(consoleErrors, []);
  t.deepEqual(requests, [url]);
  await page.close();
});

test.serial('exposed sample: findings point at the process row; screenshot for review', async (t) => {
  const report = buildReport(F.exposed(), F.runInfo(), F.evidenceInfo());
  const { page, url, requests, consoleErrors } = await open('exposed', report);
  t.regex(await page.locator('#verdict').innerText(), /EXPOSED/);
  const first = page.locator('#findings article').first();
  t.regex(await first.innerText(), /CRITICAL[\s\S]*Trustlet pages are readable[\s\S]*LsaIso\.exe[\s\S]*What it means/i);
  await first.locator('details.fev summary').click();
  t.regex(await first.innerText(), /0xffffa30c3a8e8c80/);
  const href = await first.locator('a[href^="#d-"]').first().getAttribute('href');
  t.truthy(href);
  t.is(await page.locator(href!).count(), 1, 'the process link targets its detail view');
  t.regex(await page.locator(href!).innerText(), /LsaIso\.exe/);
  t.true((await page.locator('#trustlets svg.bar rect').count()) > 3);
  await page.screenshot({ path: join(TMP, 'exposed.png'), fullPage: true });
  t.deepEqual(consoleErrors, []);
  t.deepEqual(requests, [url]);
  await page.close();
});

test.serial('1280x800: findings above the fold beside a quieter verdict; the timeline draws every process and the dump', async (t) => {
  const report = buildReport(F.exposed(), F.runInfo(), F.evidenceInfo());
  const { page, consoleErrors } = await open('fold', report);
  await page.setViewportSize({ width: 1280, height: 800 });
  const box = async (sel: string) => (await page.locator(sel).first().boundingBox())!;
  const finding = await box('#findings article');
  const verdict = await box('#verdict');
  t.true(finding.y + 60 < 800, `first finding starts above the fold (y=${finding.y})`);
  t.true(verdict.y < 800 && verdict.x > finding.x + finding.width - 1, 'the verdict sits beside the findings, not above them');
  const px = (sel: string) => page.locator(sel).first().evaluate((el) => parseFloat((globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(el).fontSize));
  const title = await px('#findings article strong');
  t.true((await px('#verdict')) <= title + 4, 'with a critical finding the verdict is no louder than the finding title');
  t.true(verdict.height < finding.height, 'the verdict box is smaller than the finding card');
  // Timeline: one bar (or an "unknown time" note) per process, and the dump line.
  const bars = await page.locator('#timeline-svg rect.tl-bar').count();
  const unknown = await page.locator('#timeline-svg text.tl-note', { hasText: 'creation time unknown' }).count();
  t.is(bars + unknown, report.processes.length);
  t.is(await page.locator('#timeline-svg .tl-dump line').count(), 1);
  t.true(await page.locator('#timeline-svg .tl-dump').isVisible());
  t.true((await page.locator('#timeline-svg circle.tl-finding').count()) >= 1, 'processes with findings are marked');
  // Names unbroken in the process table at 1280 px.
  const nameHeights = await page.locator('#proc tbody td.name a.pname').evaluateAll((els) => els.map((e) => (e as unknown as { getClientRects(): { length: number } }).getClientRects().length));
  t.true(nameHeights.every((n) => n === 1), 'every name on one line');
  await page.screenshot({ path: join(TMP, 'fold-1280x800.png') });
  t.deepEqual(consoleErrors, []);
  await page.close();
});

test.serial('partial sample shows the partial banner with reasons and missing ranges', async (t) => {
  const report = buildReport(F.partial(), F.runInfo(), F.evidenceInfo(F.PARTIAL_EVIDENCE));
  const { page, consoleErrors } = await open('partial', report);
  const banner = await page.locator('#partial').innerText();
  t.regex(banner, /Partial results/);
  t.regex(banner, /Kernel memory dump \(DumpType 8\)/);
  t.regex(banner, /0x7e000000/);
  t.regex(banner, /scanHits/);
  t.regex(await page.locator('#verdict').innerText(), /INDETERMINATE/);
  await page.screenshot({ path: join(TMP, 'partial-top.png') });
  t.deepEqual(consoleErrors, []);
  await page.close();
});

test.serial('hostile sample: names render as text, no script runs, no request', async (t) => {
  const report = buildReport(F.hostile(), F.runInfo(F.HOSTILE_RUN), F.evidenceInfo(F.HOSTILE_EVIDENCE));
  const { page, url, requests, routed, consoleErrors, dialogs } = await open('hostile', report);
  t.deepEqual(dialogs, [], 'no alert/confirm/prompt ran');
  t.is(await page.evaluate(() => (globalThis as unknown as { __pwned?: unknown }).__pwned), undefined, 'no injected script set the flag');
  t.deepEqual(consoleErrors, []);
  t.deepEqual(requests, [url], 'no request for img src=x or anything else');
  t.deepEqual(routed, [url]);
  t.is(await page.locator('img').count(), 0, 'no <img> element was created from a name');
  t.is(await page.locator('script').count(), 1, 'only our own script');
  t.is(await page.locator('svg[onload]').count(), 0);

  await page.fill('#filter', 'onerror');
  const names = await page.locator('#proc tbody tr:not([hidden]) td.name > .pname').allTextContents();
  t.true(names.includes(F.HOSTILE_NAME), 'the name is shown verbatim as text');
  await page.fill('#filter', 'red');
  const ansi = await page.locator('#proc tbody tr:not([hidden]) td.name > .pname').allTextContents();
  t.true(ansi.some((n) => n.startsWith('\\x1b[31mred\\x1b[0m')), `ANSI escapes shown visibly: ${JSON.stringify(ansi)}`);
  t.false((await page.content()).includes('\u001b'), 'no raw ESC in the DOM');
  t.regex(await page.locator('header').innerText(), /"><svg onload=alert\(5\)>/);
  await page.fill('#filter', '');
  await page.screenshot({ path: join(TMP, 'hostile.png'), fullPage: true });
  t.deepEqual(dialogs, []);
  await page.close();
});
