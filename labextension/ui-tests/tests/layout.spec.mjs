/**
 * Layout a person can use (issue 13), in light and dark themes, for the side panel and the inline card (the
 * anywidget, rendered by a real kernel from the same events): Approve visible without scrolling, the long
 * action summarised (line-numbered script, full JSON one click away), a finished job without Cancel, a running
 * one with it, markdown rendered; the panel can be widened and keeps its width across a reload.
 * Screenshots land in ui-tests/artifacts/layout-*.png (looked at when the layout changes).
 */

/* global document, getComputedStyle -- used inside page.evaluate callbacks, which run in the browser */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labTarget, launchBrowser, openLab, openPanel, screenshot } from '../lab.mjs';
import { fakeKernelSide, putNotebook, runCell, waitForKernelIdle } from '../notebook.mjs';
import { CARD_HISTORY } from '../events.mjs';

const NOTEBOOK = '.jp-NotebookPanel:not(.lm-mod-hidden)';

/** The inline card, shown by a real TurnView in the kernel and fed the same events as the panel. */
function inlineCardSource(history) {
  return [
    'import json',
    'from mlintern_jupyter.agent import events as ev',
    'from mlintern_jupyter.control import commands as c',
    'from mlintern_jupyter.jupyter.view import TurnView',
    'view = TurnView(renderer="anywidget", model="demo", offline=True,',
    '                send=lambda command: c.Reply(ok=True, message=f"{command.type} received"))',
    'view.display("anchor-cell")',
    `for data in json.loads(${JSON.stringify(JSON.stringify(history))}):`,
    '    view.update(ev.event_from_dict(data))'
  ].join('\n');
}

async function setTheme(target, theme) {
  const base = target.url.replace(/\/lab$/, '');
  const response = await fetch(`${base}/lab/api/settings/@jupyterlab/apputils-extension:themes`, {
    method: 'PUT',
    headers: { Authorization: `token ${target.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ raw: JSON.stringify({ theme }) })
  });
  assert.ok(response.ok, `theme ${theme}: ${response.status}`);
}

/** Relative luminance of a CSS rgb() colour (0 dark .. 1 light). */
function luminance(rgb) {
  const [r, g, b] = (rgb.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

describe('card layout in light and dark themes', () => {
  let target;
  let browser;
  let page;

  before(async () => {
    target = await labTarget();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', err => console.error('page error:', err.message));
  });

  after(async () => {
    await setTheme(target, 'JupyterLab Light').catch(() => {});
    await browser?.close();
    await target?.stop();
  });

  for (const theme of ['JupyterLab Light', 'JupyterLab Dark']) {
    const tag = theme.endsWith('Dark') ? 'dark' : 'light';

    it(`panel and inline card, ${tag}`, async () => {
      await setTheme(target, theme);
      const name = `layout-${tag}.ipynb`;
      await putNotebook(target, name, [
        { id: 'fake-kernel', source: fakeKernelSide(CARD_HISTORY) },
        { id: 'anchor-cell', source: inlineCardSource(CARD_HISTORY) }
      ]);
      await openLab(page, target, `/tree/${name}`);
      const panel = await openPanel(page);
      await waitForKernelIdle(page);
      // The panel has asked this kernel once (no target yet): the kernel is really there to run cells.
      await panel.locator('[data-testid="mlintern-status"]', { hasText: '%load_ext' }).waitFor();
      await runCell(page, 0);
      await runCell(page, 1);
      const inline = page.locator(`${NOTEBOOK} [data-testid="mlintern-inline-card"]`);
      const panelCard = panel.locator('[data-testid="mlintern-approval-card"]');
      try {
        await inline.locator('[data-testid="mlintern-approval-card"]').waitFor();
        await panelCard.waitFor();
      } finally {
        await screenshot(page, `layout-start-${tag}`);
      }
      await page.evaluate(() => document.fonts.ready);
      await screenshot(page, `layout-panel-${tag}`);

      // Panel: Approve and Deny are on screen and not clipped by the approvals box, with no scrolling.
      for (const id of ['mlintern-approve', 'mlintern-deny']) {
        const clipped = await panelCard.locator(`[data-testid="${id}"]`).evaluate(button => {
          const box = button.getBoundingClientRect();
          const holder = button.closest('[data-testid="mlintern-approvals"]').getBoundingClientRect();
          return (
            box.top < holder.top ||
            box.bottom > holder.bottom ||
            box.bottom > window.innerHeight ||
            box.right > window.innerWidth
          );
        });
        assert.equal(clipped, false, `${id} is hidden in the panel`);
      }
      assert.equal(await panel.locator('[data-testid="mlintern-approvals"]').evaluate(el => el.scrollTop), 0);

      // The long action is summarised; the script (60 lines, numbered) and the full JSON are there to open.
      const summary = await panelCard.locator('[data-testid="mlintern-approval-summary"]').innerText();
      for (const expected of ['hf_jobs', 'uv', 'a10g-large', '2 h', '$3.00', '$6.59']) {
        assert.ok(summary.includes(expected), `summary lacks ${expected}: ${summary}`);
      }
      assert.ok(!summary.includes('arguments_json'), summary);
      assert.equal(await panelCard.locator('.mlintern-code-line').count(), 62);
      const json = panelCard.locator('[data-testid="mlintern-action-text"]');
      assert.equal(await json.isVisible(), false);
      await panelCard.locator('.mlintern-action-json > summary').click();
      assert.match(await json.innerText(), /"dependencies"/);

      // Jobs: the finished one shows its state and no Cancel; the running one can be cancelled.
      for (const root of [panel, inline]) {
        const smoke = root.locator('[data-testid="mlintern-job-card"][data-job-id="job-smoke"]');
        const train = root.locator('[data-testid="mlintern-job-card"][data-job-id="job-train"]');
        assert.equal(await smoke.locator('[data-testid="mlintern-job-status"]').innerText(), 'COMPLETED');
        assert.equal(await smoke.locator('[data-testid="mlintern-job-cancel"]').count(), 0);
        assert.equal(await train.locator('[data-testid="mlintern-job-cancel"]').count(), 1);
        await train.locator('[data-testid="mlintern-job-metrics"] svg').waitFor();
        // Markdown renders the same in the cell as in the panel (never raw **).
        const text = root.locator('[data-testid="mlintern-assistant-text"]').first();
        assert.equal(await text.locator('strong').innerText(), '25,000');
      }

      // Inline: when the approval's top is in view, so are its buttons.
      const inlineCard = inline.locator('[data-testid="mlintern-approval-card"]');
      await inlineCard.scrollIntoViewIfNeeded();
      await inlineCard.evaluate(el => el.scrollIntoView({ block: 'start' }));
      const gap = await inlineCard.evaluate(card => {
        const approve = card.querySelector('[data-testid="mlintern-approve"]').getBoundingClientRect();
        return { below: approve.bottom - card.getBoundingClientRect().top, bottom: approve.bottom };
      });
      assert.ok(gap.below < 320 && gap.bottom <= 900, `Approve is ${gap.below}px below the card's top`);
      await screenshot(page, `layout-inline-${tag}`);

      // The theme reaches the cards: dark backgrounds with light text in the dark theme, and the reverse.
      const colours = await inline.evaluate(el => {
        const card = el.querySelector('.mlintern-card');
        return { bg: getComputedStyle(card).backgroundColor, fg: getComputedStyle(card).color };
      });
      if (tag === 'dark') {
        assert.ok(luminance(colours.bg) < 0.3 && luminance(colours.fg) > 0.6, JSON.stringify(colours));
      } else {
        assert.ok(luminance(colours.bg) > 0.7 && luminance(colours.fg) < 0.4, JSON.stringify(colours));
      }

      // Pale badges keep dark text in both themes (the demo badge on the theme's warning colour).
      const badge = await panel
        .locator('.mlintern-badge-demo')
        .evaluate(el => ({ bg: getComputedStyle(el).backgroundColor, fg: getComputedStyle(el).color }));
      assert.ok(
        luminance(badge.bg) - luminance(badge.fg) > 0.4,
        `demo badge contrast: ${JSON.stringify(badge)}`
      );

      // A click on the inline card's Approve goes to the kernel's dispatcher and its reply shows in the card.
      await inlineCard.locator('[data-testid="mlintern-approve"]').click();
      await inline
        .locator('[data-testid="mlintern-inline-status"]', { hasText: 'approve received' })
        .waitFor();
    });
  }

  it('the side panel can be widened and keeps its width after a reload', async () => {
    await setTheme(target, 'JupyterLab Light');
    await openLab(page, target);
    const panel = await openPanel(page);
    const before = (await panel.boundingBox()).width;
    // The splitter between the main area and the right sidebar.
    const handle = await page.evaluate(() => {
      const side = document.querySelector('#jp-right-stack');
      const handles = [...document.querySelectorAll('.lm-SplitPanel-handle')].filter(
        h => !h.classList.contains('lm-mod-hidden')
      );
      const left = side.getBoundingClientRect().left;
      const near = handles
        .map(h => h.getBoundingClientRect())
        .filter(r => r.height > 100 && Math.abs(r.right - left) < 12);
      return near.length
        ? { x: near[0].left + near[0].width / 2, y: near[0].top + near[0].height / 2 }
        : null;
    });
    assert.ok(handle, 'no splitter beside the right sidebar');
    await page.mouse.move(handle.x, handle.y);
    await page.mouse.down();
    await page.mouse.move(handle.x - 250, handle.y, { steps: 10 });
    await page.mouse.up();
    const widened = (await panel.boundingBox()).width;
    assert.ok(widened > before + 200, `panel ${before}px -> ${widened}px`);
    // The lab saves its layout (the workspace) shortly after a change; then a reload restores it.
    await page.waitForTimeout(2_000);
    await openLab(page, target);
    const again = await openPanel(page);
    const restored = (await again.boundingBox()).width;
    assert.ok(Math.abs(restored - widened) < 20, `panel ${widened}px, after a reload ${restored}px`);
    await screenshot(page, 'layout-panel-widened');
  });
});
