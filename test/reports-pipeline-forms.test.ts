// The real pipeline across dump forms (full, bitmap, active, kernel-only, raw) and on the hostile-
// names sample, whose HTML report is then opened in Chromium: no console error, no request, the
// verdict shown, the filter to `lsaiso` leaves one row, and the hostile name is text.
import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { FORMS } from '../samples/generate.ts';
import { fullProcessName } from '../src/vsm/full-name.ts';
import { checkReports, runSample } from './reports-pipeline.ts';

const DIR = fileURLToPath(new URL('./.tmp/reports-pipeline-forms/', import.meta.url));

for (const form of FORMS) {
  test(`vsm-credential-guard (${form}): every report checks out`, async (t) => {
    const s = await runSample(DIR, 'vsm-credential-guard', form);
    checkReports(t, s);
    t.is(s.report.evidence.format.startsWith('crash-') || s.report.evidence.format === 'raw', true);
    // Kernel-only and active dumps hold part of memory by nature: the reports must say so.
    if (s.report.evidence.partialByNature) t.true(s.report.partial.partial);
  });
}

test('hostile-names sample: the HTML report in Chromium shows names as text and runs nothing', async (t) => {
  const s = await runSample(DIR, 'hostile-names', 'full');
  checkReports(t, s);
  t.true(existsSync('/usr/bin/chromium'), 'Chromium is installed (.ci/run installs it)');
  const profile = mkdtempSync(join(DIR, 'profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
  });
  try {
    const page = await context.newPage();
    const url = pathToFileURL(s.htmlPath).href;
    const requests: string[] = [];
    const errors: string[] = [];
    const dialogs: string[] = [];
    await page.route('**/*', (r) => (requests.push(r.request().url()), r.request().url() === url ? r.continue() : r.abort()));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => (dialogs.push(d.message()), void d.dismiss()));
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForTimeout(150);
    t.deepEqual(requests, [url], 'no request but the page itself');
    t.deepEqual(errors, []);
    t.deepEqual(dialogs, []);
    t.is(await page.locator('img').count(), 0);
    t.is(await page.locator('script').count(), 1);
    t.regex(await page.locator('#verdict').innerText(), new RegExp(s.report.vsm.verdict.toUpperCase().replace('-', ' ')));
    await page.fill('#filter', 'lsaiso');
    t.is(await page.locator('#proc tbody tr:not([hidden])').count(), 1, 'filtering to lsaiso leaves one row');
    // ImageFileName holds 15 bytes, so the name is cut ("<img src=x oner"); the full path keeps the markup.
    const hostile = s.report.processes.filter((p) => p.name.text.includes('<') || p.imagePath?.text.includes('<'));
    t.true(hostile.length > 0, 'the analysis reports the hostile process');
    await page.fill('#filter', 'src=x');
    const rows = page.locator('#proc tbody tr:not([hidden])');
    t.is(await rows.count(), hostile.length);
    const names = await rows.locator('td.name > .pname').allTextContents();
    const paths = await rows.locator('td.path').allTextContents();
    for (const p of hostile) {
      // The table shows the full name (the image path's file name where ImageFileName was cut) and the drive-letter path.
      t.true(names.includes(fullProcessName(p)), `${fullProcessName(p)} is shown as text`);
      const path = p.imagePathDos ?? p.imagePath?.text;
      if (path) t.true(paths.includes(path), `${path} is shown as text`);
    }
    await page.fill('#filter', '');
    await page.screenshot({ path: join(DIR, 'hostile-names.png'), fullPage: true });
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});
