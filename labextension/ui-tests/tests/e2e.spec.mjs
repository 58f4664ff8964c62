/**
 * End to end with the real kernel side: `%load_ext mlintern_jupyter`, then `%%intern` with an offline model (the
 * demo model, or a scripted one from ../scripts/*.json), in a real JupyterLab driven by the system chromium.
 * Set MLINTERN_E2E=1 to run. Each test opens its own notebook (so its own kernel and session).
 */

/* global document, requestAnimationFrame -- used inside page.evaluate callbacks, which run in the browser */

import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { labTarget, launchBrowser, openLab, openPanel as openLabPanel, screenshot } from '../lab.mjs';
import { runAllFlow, runAllProblem, twoSessionsFlow, twoSessionsProblem } from '../insertions.mjs';
import { cellSources, putNotebook, runCell, waitForKernelIdle } from '../notebook.mjs';

const SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts');
const NOTEBOOK = '.jp-NotebookPanel:not(.lm-mod-hidden)';
const LOAD = { id: 'load', source: '%load_ext mlintern_jupyter' };
// A cell after the %%intern cell: an inserted cell must land between them, not at the end.
const LATER = { id: 'later', source: "print('a later cell')" };

const scripted = (name, flags = '') => `%%intern --model scripted:${join(SCRIPTS, name)}${flags}`;

describe('mlintern end to end', { skip: process.env.MLINTERN_E2E !== '1' && 'set MLINTERN_E2E=1' }, () => {
  let target;
  let browser;
  let page;
  const pageErrors = [];

  before(async () => {
    target = await labTarget();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', err => pageErrors.push(err.message));
  });

  after(async () => {
    await browser?.close();
    await target?.stop();
  });

  const cell = index => page.locator(`${NOTEBOOK} .jp-Cell`).nth(index);

  const openPanel = () => openLabPanel(page);

  /** Open a fresh notebook with the panel showing, run `%load_ext` (cell 0) and the `%%intern` cell (cell 1). */
  async function startTurn(name, internSource) {
    await putNotebook(target, name, [LOAD, { id: 'intern', source: internSource }, LATER]);
    await openLab(page, target, `/tree/${name}`);
    const panel = await openPanel();
    await waitForKernelIdle(page);
    // The panel has asked this kernel once and found no target yet: it is attached to this notebook.
    await panel.locator('[data-testid="mlintern-status"]', { hasText: '%load_ext' }).waitFor();
    await runCell(page, 0);
    await panel.locator('[data-testid="mlintern-status"]').waitFor({ state: 'hidden' });
    await runCell(page, 1);
    return panel;
  }

  /** The inline card's pending approval holding `text` and an enabled button `label` (the anywidget card). */
  function inlineCard(text, label) {
    return cell(1)
      .locator('[data-testid="mlintern-inline-card"] [data-testid="mlintern-approval-card"]')
      .filter({ hasText: text })
      .filter({ has: page.locator('button:not([disabled])', { hasText: label }) })
      .last();
  }

  it('runs the demo model and shows its cards', async () => {
    await putNotebook(target, 'e2e.ipynb', [
      LOAD,
      { id: 'intern', source: '%%intern --model demo\nfine-tune distilbert on imdb' }
    ]);
    await openLab(page, target, '/tree/e2e.ipynb');
    const panel = await openPanel();
    await waitForKernelIdle(page);
    // The panel has talked to the kernel once (and found no target yet): the kernel is really there.
    await panel.locator('[data-testid="mlintern-status"]', { hasText: '%load_ext' }).waitFor();
    await runCell(page, 0);
    await runCell(page, 1);
    try {
      await panel.locator('[data-testid="mlintern-assistant-text"]').first().waitFor({ timeout: 60_000 });
    } finally {
      await screenshot(page, 'e2e-demo');
    }
  });

  it('fills the panel and the cards, takes one approval from each, inserts the cell below %%intern', async () => {
    const panel = await startTurn('approvals.ipynb', `${scripted('approvals.json')}\nrun two commands`);
    try {
      // Inline cards and panel fill from the same events.
      await cell(1)
        .locator('[data-testid="mlintern-assistant-text"]', { hasText: 'First I check the shell.' })
        .first()
        .waitFor();
      await panel
        .locator('[data-testid="mlintern-assistant-text"]', { hasText: 'First I check the shell.' })
        .waitFor();
      await panel.locator('[data-testid="mlintern-user-text"]', { hasText: 'run two commands' }).waitFor();

      // 1. Approve from the panel: the exact command is shown, and the inline card learns the decision.
      const first = panel.locator('[data-testid="mlintern-approval-card"]', { hasText: 'echo approved-1' });
      await first.waitFor();
      await inlineCard('echo approved-1', 'Approve').waitFor();
      await screenshot(page, 'e2e-approval-panel');
      await first.locator('[data-testid="mlintern-approve"]').click();
      await first.waitFor({ state: 'detached' });
      await panel.locator('[data-testid="mlintern-tool-output"]', { hasText: 'approved-1' }).waitFor();
      await inlineCard('echo approved-1', 'Approve').waitFor({ state: 'detached' });
      await cell(1).locator('[data-testid="mlintern-tool-output"]', { hasText: 'approved-1' }).waitFor();

      // 2. Approve from the inline card: the panel's pending card goes away and the command runs.
      const second = panel.locator('[data-testid="mlintern-approval-card"]', { hasText: 'echo approved-2' });
      await second.waitFor();
      const card = inlineCard('echo approved-2', 'Approve');
      await card.waitFor();
      await screenshot(page, 'e2e-approval-inline');
      // The plain Approve (the card also offers "Approve `echo` for this session").
      await card.locator('button', { hasText: /^\s*Approve\s*$/ }).click();
      await second.waitFor({ state: 'detached' });
      await panel.locator('[data-testid="mlintern-tool-output"]', { hasText: 'approved-2' }).waitFor();

      // 3. The generated cell lands right below the %%intern cell, not run.
      await panel.locator('[data-testid="mlintern-assistant-text"]', { hasText: 'All done' }).waitFor();
      await page
        .locator(`${NOTEBOOK} .jp-Cell`, { hasText: 'written by the scripted agent' })
        .first()
        .waitFor();
      const sources = await cellSources(page);
      assert.equal(sources.length, 4, JSON.stringify(sources));
      assert.match(sources[1], /^%%intern/);
      assert.equal(sources[2], "print('written by the scripted agent')");
      assert.equal(sources[3], "print('a later cell')");
      assert.match(await cell(2).locator('.jp-InputPrompt').innerText(), /^\[ ?\]:$/);
      assert.equal(await cell(2).locator('.jp-OutputArea-output').count(), 0);
      // Both tool cards ended ok; the inline card says the turn ended.
      const statuses = await panel
        .locator('[data-testid="mlintern-tool-card"] [data-testid="mlintern-tool-status"]')
        .allInnerTexts();
      assert.ok(statuses.length >= 3, `statuses: ${statuses}`);
      assert.ok(
        statuses.every(s => !/running|pending|error|denied/i.test(s)),
        `statuses: ${statuses}`
      );
      await cell(1).locator('button', { hasText: 'Ended' }).waitFor();
    } finally {
      await screenshot(page, 'e2e-approvals-done');
    }
  });

  it('stops a turn from the panel and from the inline card', async () => {
    // --approve auto: a plain shell command needs no person, so the turn goes straight into `sleep 30`.
    const panel = await startTurn('stop.ipynb', `${scripted('stop.json', ' --approve auto')}\nsleep please`);
    try {
      const started = Date.now();
      const running = panel.locator('[data-testid="mlintern-tool-card"].mlintern-status-running');
      await running.waitFor();
      await screenshot(page, 'e2e-stop-running');
      await panel.locator('[data-testid="mlintern-stop"]').click();
      await cell(1).locator('button', { hasText: 'Stopped' }).waitFor();
      await running.waitFor({ state: 'detached' });
      assert.ok(Date.now() - started < 25_000, 'the stop did not wait for the sleep');
      // The command's output never came (its arguments name the marker, so look at outputs and results only).
      const outputs = panel.locator(
        '[data-testid="mlintern-tool-output"], [data-testid="mlintern-tool-result"]'
      );
      assert.equal(await outputs.filter({ hasText: 'slept-through' }).count(), 0);
      assert.equal(await panel.getByText('never-reached-after-stop').count(), 0);
      await screenshot(page, 'e2e-stopped-panel');

      // A second turn in the same session, stopped from its own inline card this time.
      await cell(1).locator('.jp-InputPrompt').click();
      await page.keyboard.press('Escape');
      await page.keyboard.press('b');
      await page.keyboard.press('Enter');
      await page.keyboard.type('%%intern\nsleep again');
      await page.keyboard.press('Shift+Enter');
      const again = cell(2);
      await again.locator('button:not([disabled])', { hasText: 'Stop' }).waitFor();
      await running.waitFor();
      const restarted = Date.now();
      await again.locator('button', { hasText: 'Stop' }).click();
      await again.locator('button', { hasText: 'Stopped' }).waitFor();
      await running.waitFor({ state: 'detached' });
      assert.ok(Date.now() - restarted < 25_000, 'the stop did not wait for the sleep');
      assert.equal(await outputs.filter({ hasText: 'slept-through' }).count(), 0);
      // Both auto-approved cards are settled: nothing left to click.
      assert.equal(
        await page.locator(`${NOTEBOOK} button:not([disabled])`, { hasText: 'Approve' }).count(),
        0
      );
      // Stopping is a normal outcome: no traceback lands in the notebook.
      const stderr = page.locator(
        `${NOTEBOOK} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]`
      );
      const errors = await stderr.allInnerTexts();
      assert.equal(errors.length, 0, `stderr in the notebook after Stop:\n${errors[0]?.slice(0, 600)}`);
    } finally {
      await screenshot(page, 'e2e-stopped-inline');
    }
  });

  it('shows the session model and approve mode in the panel header', async () => {
    // Still on stop.ipynb: the session was started live (the panel was connected before %%intern ran).
    const panel = page.locator('[data-testid="mlintern-panel"]');
    try {
      await panel
        .locator('[data-testid="mlintern-model"]', { hasText: /scripted:\/.*stop\.json/ })
        .waitFor({ timeout: 5_000 });
      assert.match(await panel.locator('[data-testid="mlintern-approve-mode"]').innerText(), /auto/);
    } finally {
      await screenshot(page, 'e2e-header');
    }
  });

  it('renders hostile model text, tool output and an inserted markdown cell inertly', async () => {
    await page.evaluate(() => delete window.__xss);
    const beacons = [];
    const onRequest = request => request.url().includes('beacon.invalid') && beacons.push(request.url());
    page.on('request', onRequest);
    const panel = await startTurn('xss.ipynb', `${scripted('xss.json', ' --approve auto')}\nbe nasty`);
    try {
      await panel.locator('[data-testid="mlintern-assistant-text"]', { hasText: 'Final:' }).waitFor();
      await panel.locator('[data-testid="mlintern-tool-output"]', { hasText: 'out link' }).waitFor();
      const inserted = page.locator(`${NOTEBOOK} .jp-MarkdownCell`, { hasText: 'xss-cell' }).first();
      await inserted.waitFor();
      // Render the markdown cell as a person would (Shift+Enter); the agent itself never runs it.
      await inserted.click();
      await page.keyboard.press('Shift+Enter');
      await inserted.locator('.jp-RenderedMarkdown h1', { hasText: 'xss-cell' }).waitFor();
      await cell(1)
        .locator('[data-testid="mlintern-inline-card"]', { hasText: '<script>window.__xss=2</script>' })
        .first()
        .waitFor();

      // The payloads read as text in the panel and the inline cards.
      assert.match(
        await panel.locator('[data-testid="mlintern-assistant-text"]').first().innerText(),
        /<img src=x onerror=window.__xss=1>/
      );
      assert.match(
        await panel.locator('[data-testid="mlintern-tool-output"]').first().innerText(),
        /<svg onload=window.__xss=3>/
      );
      assert.match(await cell(1).locator('.jp-OutputArea').innerText(), /<img src=x onerror=window.__xss=1>/);

      // No live element from the payloads anywhere: panel, inline cards, rendered markdown.
      const live = await page.evaluate(() => {
        const roots = [
          document.querySelector('[data-testid="mlintern-panel"]'),
          ...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')
        ].filter(Boolean);
        const found = [];
        for (const root of roots) {
          for (const el of root.querySelectorAll('img, script, svg, iframe, a, [onerror], [onload]')) {
            const href = el.getAttribute('href') ?? el.getAttribute('src') ?? '';
            const handlers = [...el.attributes].some(a => /^on/i.test(a.name));
            const hostile =
              el.tagName === 'SCRIPT' ||
              el.tagName === 'IFRAME' ||
              handlers ||
              /^\s*javascript:/i.test(href) ||
              (el.tagName === 'IMG' && /__xss|^x$|beacon/.test(el.getAttribute('src') ?? ''));
            // JupyterLab's own icons are inline <svg> without handlers: only payload-shaped ones count.
            if (
              hostile ||
              (el.tagName.toLowerCase() === 'svg' && el.closest('.jp-RenderedMarkdown, .mlintern-markdown'))
            ) {
              found.push(el.outerHTML.slice(0, 200));
            }
          }
        }
        return found;
      });
      assert.deepEqual(live, []);
      // Click every link the payloads left behind (they must be inert), in the panel and in the markdown cell.
      for (const link of await page
        .locator(`[data-testid="mlintern-panel"] a, ${NOTEBOOK} .jp-RenderedMarkdown a`)
        .filter({ hasText: /click me|html link|out link/ })
        .all()) {
        await link.click({ modifiers: [] }).catch(() => {});
      }
      // Let any handler that slipped through fire (image errors and onload are asynchronous).
      await page.evaluate(() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 200))));
      assert.equal(await page.evaluate(() => window.__xss), undefined);
      // Images in model text and in the inserted markdown cell are links: nothing was fetched by itself.
      await panel.locator('a.mlintern-image-link', { hasText: '[image: beacon]' }).first().waitFor();
      assert.match(await inserted.innerText(), /!\[beacon\]|beacon/);
      assert.deepEqual(beacons, []);
      assert.deepEqual(
        pageErrors.filter(m => /__xss/.test(m)),
        []
      );
    } finally {
      page.off('request', onRequest);
      await openPanel().catch(() => {});
      await screenshot(page, 'e2e-xss');
    }
  });

  it('Run All puts the script cell in once, right below %%intern, with the panel open', async () => {
    try {
      const result = await runAllFlow(page, target, 'runall.ipynb');
      assert.equal(runAllProblem(result), '');
      // The stray "Task was destroyed but it is pending" (issue 13) or any traceback would land here.
      const bad = result.stderr.filter(s => /Task was destroyed|Traceback/.test(s));
      assert.deepEqual(bad, [], result.stderr.join('\n---\n'));
    } finally {
      await screenshot(page, 'e2e-run-all');
    }
  });

  it('two --new demo sessions in one notebook each get their script cell below their own %%intern', async () => {
    try {
      const result = await twoSessionsFlow(page, target, 'two-sessions.ipynb');
      assert.equal(twoSessionsProblem(result), '');
      assert.deepEqual(
        result.stderr.filter(s => /Task was destroyed|Traceback/.test(s)),
        []
      );
    } finally {
      await screenshot(page, 'e2e-two-sessions');
    }
  });

  it('the panel approves for this session, edits a script in a cell, and changes approve mode and budget', async () => {
    const panel = await startTurn('controls.ipynb', `${scripted('panel_controls.json')}\nuse the controls`);
    try {
      // Approve the shape `echo <arg>` for the rest of the session: the next echo of one word runs without a card.
      const first = panel.locator('[data-testid="mlintern-approval-card"]', { hasText: 'echo first-run' });
      await first.waitFor();
      await first
        .locator('[data-testid="mlintern-approve-session"]', { hasText: 'Approve `echo <arg>`' })
        .click();
      await panel
        .locator('[data-testid="mlintern-tool-output"]', { hasText: 'second-run-no-card' })
        .waitFor();
      // The job's script goes into a cell headed %%intern approve NONCE; running it (edited) approves it.
      const job = panel.locator('[data-testid="mlintern-approval-card"]', { hasText: 'from the model' });
      await job.waitFor();
      await job.locator('[data-testid="mlintern-edit-in-cell"]').click();
      // The cell whose own source (not an output) holds the approve line.
      const editCell = page
        .locator(`${NOTEBOOK} .jp-CodeCell`)
        .filter({ has: page.locator('.jp-InputArea-editor', { hasText: '%%intern approve' }) })
        .first();
      await editCell.waitFor();
      const header = (await editCell.locator('.cm-line').first().innerText()).trim();
      assert.match(header, /^%%intern approve \S+$/);
      await editCell.locator('.cm-content').click();
      await page.keyboard.press('Control+a');
      await page.keyboard.type(`${header}\nprint('edited by the person')`);
      await page.keyboard.press('Shift+Enter');
      await panel
        .locator('[data-testid="mlintern-job-log"]', { hasText: 'edited by the person' })
        .waitFor({ timeout: 60_000 });
      // What ran is the person's edit, not the model's script.
      assert.doesNotMatch(
        await panel.locator('[data-testid="mlintern-job-log"]').last().innerText(),
        /from the model/
      );
      await panel.locator('[data-testid="mlintern-assistant-text"]', { hasText: 'Controls done.' }).waitFor();
      // Approve mode and budget, from the panel's controls, as the kernel records them.
      const mode = panel.locator('[data-testid="mlintern-approve-mode-select"]');
      await mode.selectOption('deny');
      await panel.locator('[data-testid="mlintern-approve-mode"]', { hasText: 'deny' }).waitFor();
      await panel.locator('[data-testid="mlintern-budget-input"]').fill('-3');
      await panel.locator('[data-testid="mlintern-budget-set"]').click();
      await panel.locator('[data-testid="mlintern-status"]', { hasText: 'usd must be at least 0' }).waitFor();
      await panel.locator('[data-testid="mlintern-budget-input"]').fill('2.5');
      await panel.locator('[data-testid="mlintern-budget-set"]').click();
      await panel.locator('[data-testid="mlintern-budget"]', { hasText: '$2.50' }).waitFor();
      await panel.locator('[data-testid="mlintern-status"]', { hasText: 'Budget set to $2.50' }).waitFor();
    } finally {
      await screenshot(page, 'e2e-panel-controls');
    }
  });
});
