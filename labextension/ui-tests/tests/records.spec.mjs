/**
 * Records that render anywhere (issue 13 item 4): the quickstart run headless (scripts/run_quickstart.py), its
 * executed notebook and the session it exported converted with `jupyter nbconvert --to html`, opened in Chromium
 * with no kernel, no widget JavaScript and no network (GitHub and nbviewer render notebooks with nbconvert too).
 * The `%%intern` output must read as the session's record, not as an empty widget placeholder.
 */

/* global document -- used inside page.evaluate callbacks, which run in the browser */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { launchBrowser } from '../lab.mjs';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = process.env.MLINTERN_VENV_BIN ?? join(REPO, '.venv', 'bin');
const PROMPT = 'Train a classifier on the `digits` data I loaded and tell me its test accuracy.';

describe('records in nbconvert HTML', () => {
  let dir;
  let server;
  let base;
  let browser;
  let page;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlintern-records-'));
    const env = {
      ...process.env,
      MLINTERN_HOME: join(dir, 'home'),
      IPYTHONDIR: join(dir, 'ipython'),
      PYTHONPATH: REPO,
      LITELLM_LOCAL_MODEL_COST_MAP: 'True',
      LITELLM_OFFLINE_MODE: 'true'
    };
    const out = join(dir, 'out');
    execFileSync(
      join(BIN, 'python'),
      [join(REPO, 'scripts', 'run_quickstart.py'), '--out', join(out, 'quickstart.executed.ipynb')],
      { env, cwd: REPO, stdio: 'pipe', timeout: 600_000 }
    );
    execFileSync(
      join(BIN, 'jupyter'),
      ['nbconvert', '--to', 'html', 'quickstart.executed.ipynb', 'quickstart_session.ipynb'],
      { env, cwd: out, stdio: 'pipe', timeout: 120_000 }
    );
    server = createServer((req, res) => {
      try {
        res.end(readFileSync(join(out, decodeURIComponent(new URL(req.url, 'http://x').pathname).slice(1))));
      } catch {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${server.address().port}`;
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });

  after(async () => {
    await browser?.close();
    server?.close();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The visible text of each code cell's outputs, keyed by the first line of its source. */
  async function outputsBySource() {
    return page.evaluate(() =>
      Object.fromEntries(
        [...document.querySelectorAll('.jp-Cell.jp-CodeCell')].map(cell => [
          (cell.querySelector('.jp-InputArea-editor')?.textContent ?? '').trim().split('\n')[0],
          cell.querySelector('.jp-OutputArea')?.innerText ?? ''
        ])
      )
    );
  }

  it('the executed quickstart shows the %%intern record, and the script cell below it', async () => {
    await page.goto(`${base}/quickstart.executed.html`);
    const outputs = await outputsBySource();
    const record = outputs['%%intern --model demo --approve auto --budget 1 --wait'];
    assert.ok(record, `no %%intern cell in ${Object.keys(outputs)}`);
    for (const expected of [
      '[mlintern · demo model]',
      `> ${PROMPT}`,
      '+ new cell',
      'approval approved by policy',
      'test accuracy',
      '[turn ended: done]'
    ]) {
      assert.ok(record.includes(expected), `the record lacks ${JSON.stringify(expected)}:\n${record}`);
    }
    // No widget placeholder for our output: nbconvert chose the static record.
    const widgetViews = await page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count();
    assert.equal(widgetViews, 0);
    // The script the agent wrote is a cell right below, readable as code.
    const sources = await page
      .locator('.jp-Cell.jp-CodeCell .jp-InputArea-editor')
      .evaluateAll(els => els.map(e => (e.textContent ?? '').trim()));
    const intern = sources.findIndex(s => s.startsWith('%%intern'));
    assert.match(sources[intern + 1], /^# \/\/\/ script/);
    assert.match(await page.locator('body').innerText(), /%intern status/);
  });

  it('the exported session reads as prompt, steps, script and answer', async () => {
    await page.goto(`${base}/quickstart_session.html`);
    const text = await page.locator('body').innerText();
    for (const expected of [
      PROMPT.replace(/`/g, ''),
      'notebook_insert_cell',
      'hf_jobs',
      'test accuracy of 95.56%'
    ]) {
      assert.ok(text.includes(expected), `the export lacks ${JSON.stringify(expected)}`);
    }
    assert.equal(await page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count(), 0);
  });
});
