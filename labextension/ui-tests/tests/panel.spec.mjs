/**
 * The panel in a real JupyterLab and a real browser. The kernel side is a fake comm target (fake_kernel_side.py)
 * until the real bridge exists; the end-to-end tests with %load_ext mlintern_jupyter go in e2e.spec.mjs.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labTarget, launchBrowser, openLab, openPanel, screenshot } from '../lab.mjs';
import {
  cellSources,
  fakeKernelSide,
  getNotebook,
  putNotebook,
  runCell,
  waitForKernelIdle
} from '../notebook.mjs';
import { XSS_HISTORY } from '../events.mjs';

const NOT_LOADED = 'Run %load_ext mlintern_jupyter in this notebook';

describe('mlintern panel', () => {
  let target;
  let browser;
  let page;
  const requests = [];

  before(async () => {
    target = await labTarget();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', err => console.error('page error:', err.message));
    page.on('request', request => requests.push(request.url()));
  });

  after(async () => {
    await browser?.close();
    await target?.stop();
  });

  it('is present in the right sidebar', async () => {
    await openLab(page, target);
    const panel = await openPanel(page);
    assert.equal(await panel.locator('[data-testid="mlintern-timeline"]').count(), 1);
    assert.equal(await panel.locator('[data-testid="mlintern-prompt-input"]').count(), 1);
    await screenshot(page, 'panel-empty');
  });

  it('asks for %load_ext, then connects after an execution and renders untrusted text inertly', async () => {
    await putNotebook(target, 'fake.ipynb', [
      { id: 'fake-kernel', source: fakeKernelSide(XSS_HISTORY) },
      { id: 'anchor-cell', source: '%%intern\nfine-tune distilbert' }
    ]);
    await openLab(page, target, '/tree/fake.ipynb');
    const panel = await openPanel(page);
    await waitForKernelIdle(page);
    await panel.locator('[data-testid="mlintern-status"]', { hasText: NOT_LOADED }).waitFor();
    await screenshot(page, 'panel-not-loaded');

    await runCell(page, 0);
    const assistant = panel.locator('[data-testid="mlintern-assistant-text"]');
    await assistant.first().waitFor();
    assert.equal(await panel.locator('[data-testid="mlintern-status"]').isHidden(), true);

    // Raw HTML shows as text; nothing in it runs; javascript: links lose their href.
    assert.match(await assistant.first().innerText(), /<img src=x onerror=/);
    assert.equal(await panel.locator('[data-testid="mlintern-assistant-text"] img, script, svg').count(), 0);
    const hrefs = await panel
      .locator('[data-testid="mlintern-timeline"] a')
      .evaluateAll(links => links.map(a => a.getAttribute('href')));
    assert.ok(
      hrefs.every(h => h === null || /^https?:/.test(h)),
      `hrefs: ${hrefs}`
    );
    // An image in model markdown is a visible link: the panel fetched nothing by itself.
    await panel.locator('a.mlintern-image-link', { hasText: '[image: beacon]' }).waitFor();
    assert.deepEqual(
      requests.filter(url => url.includes('beacon.invalid')),
      []
    );
    await panel.locator('[data-testid="mlintern-timeline"] a', { hasText: 'click me' }).first().click();
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(
      await panel.locator('[data-testid="mlintern-tool-output"]').first().innerText(),
      '<b>not bold</b>'
    );
    await screenshot(page, 'panel-connected');
  });

  it('inserts the agent cell below its anchor, once', async () => {
    const sources = await cellSources(page);
    assert.equal(sources.length, 3, JSON.stringify(sources));
    assert.match(sources[2], /print\('inserted by the agent'\)/);
  });

  it('shows the exact action and sends the decision with feedback', async () => {
    const panel = page.locator('[data-testid="mlintern-panel"]');
    const card = panel.locator('[data-testid="mlintern-approval-card"]');
    await card.waitFor();
    // The script is shown (numbered lines); every field, the script included, is in the JSON one click away.
    assert.match(
      await card.locator('[data-testid="mlintern-approval-script"]').innerText(),
      /print\("train"\)/
    );
    await card.locator('.mlintern-action-json > summary').click();
    assert.match(
      await card.locator('[data-testid="mlintern-action-text"]').innerText(),
      /a10g-small[\s\S]*print\("train"\)/
    );
    assert.match(await card.locator('[data-testid="mlintern-approval-hash"]').innerText(), /9f2c4e1b0000/);
    await card.locator('[data-testid="mlintern-feedback"]').fill('keep it short');
    await screenshot(page, 'panel-approval');
    await card.locator('[data-testid="mlintern-approve"]').click();
    await card.waitFor({ state: 'detached' });
    const tool = panel.locator('[data-testid="mlintern-tool-card"][data-call-id="call_job"]');
    assert.match(await tool.innerText(), /approved[\s\S]*keep it short/);
  });

  it('sends prompts', async () => {
    const panel = page.locator('[data-testid="mlintern-panel"]');
    await panel.locator('[data-testid="mlintern-prompt-input"]').fill('and evaluate it');
    await panel.locator('[data-testid="mlintern-prompt-send"]').click();
    await panel
      .locator('[data-testid="mlintern-user-text"]', {
        hasText: 'and evaluate it'
      })
      .waitFor();
  });

  it('rebuilds from history after a reload without inserting the cell again', async () => {
    await page
      .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')
      .first()
      .locator('.jp-InputPrompt')
      .click();
    await page.keyboard.press('Control+s');
    await page
      .locator('.jp-NotebookPanel-toolbar', { hasText: 'Saving completed' })
      .waitFor()
      .catch(() => {});
    await page.waitForTimeout(1000);
    const saved = await getNotebook(target, 'fake.ipynb');
    const inserted = saved.cells.filter(c => c.metadata?.mlintern?.call_id === 'call_cell');
    assert.equal(inserted.length, 1);
    assert.deepEqual(inserted[0].metadata.mlintern, {
      session_id: 'ui-test',
      call_id: 'call_cell',
      insert_id: 'ui-test:call_cell'
    });
    assert.deepEqual(saved.metadata.mlintern.inserted, ['ui-test:call_cell']);
    await page.reload();
    await page.waitForSelector('#jp-main-dock-panel');
    const panel = await openPanel(page);
    await waitForKernelIdle(page);
    await panel.locator('[data-testid="mlintern-assistant-text"]').first().waitFor();
    await panel
      .locator('[data-testid="mlintern-user-text"]', {
        hasText: 'and evaluate it'
      })
      .waitFor();
    const sources = await cellSources(page);
    assert.equal(sources.filter(s => s.startsWith("print('inserted by the agent')")).length, 1);
    await screenshot(page, 'panel-after-reload');
  });

  it('after a kernel restart asks for %load_ext again, then reconnects', async () => {
    const panel = page.locator('[data-testid="mlintern-panel"]');
    await page
      .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')
      .first()
      .locator('.jp-InputPrompt')
      .click();
    await page.keyboard.press('0');
    await page.keyboard.press('0');
    await page.locator('.jp-Dialog .jp-mod-accept').click();
    await panel
      .locator('[data-testid="mlintern-status"]', { hasText: NOT_LOADED })
      .waitFor({ timeout: 60_000 });
    await screenshot(page, 'panel-after-restart');
    await runCell(page, 0);
    await panel.locator('[data-testid="mlintern-status"]').waitFor({ state: 'hidden' });
    await panel.locator('[data-testid="mlintern-approval-card"]').waitFor();
    const sources = await cellSources(page);
    assert.equal(sources.filter(s => s.startsWith("print('inserted by the agent')")).length, 1);
  });

  it('refuses a kernel of another protocol version and says which side to update', async () => {
    await putNotebook(target, 'old-kernel.ipynb', [
      { id: 'fake-kernel', source: fakeKernelSide(XSS_HISTORY, 1) }
    ]);
    await openLab(page, target, '/tree/old-kernel.ipynb');
    const panel = await openPanel(page);
    await waitForKernelIdle(page);
    const status = panel.locator('[data-testid="mlintern-status"]');
    try {
      await status.filter({ hasText: NOT_LOADED }).waitFor();
      await runCell(page, 0);
      await status.filter({ hasText: 'speaks protocol 1, this panel' }).waitFor();
      assert.match(await status.innerText(), /upgrade mlintern-jupyter in the kernel's environment/);
      // Nothing of that kernel's history was taken in.
      assert.equal(await panel.locator('[data-testid="mlintern-assistant-text"]').count(), 0);
    } finally {
      await screenshot(page, 'panel-version-mismatch');
    }
  });
});
