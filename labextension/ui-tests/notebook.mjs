/** Notebook helpers for browser tests: write notebooks through the contents API, run cells, read cells. */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The protocol version the built panel speaks (from the schema its commands.ts was generated from). */
export const PROTOCOL_VERSION = JSON.parse(
  readFileSync(join(HERE, '..', 'src', 'commands.schema.json'), 'utf-8')
)['x-protocol-version'];

/** Python source of a cell that registers a fake `mlintern` comm target serving `history`. */
export function fakeKernelSide(history, version = PROTOCOL_VERSION) {
  const template = readFileSync(join(HERE, 'fake_kernel_side.py'), 'utf-8');
  return template
    .replace('__HISTORY_JSON__', JSON.stringify(JSON.stringify(history)))
    .replace('__VERSION__', JSON.stringify(version));
}

export function notebookJson(cells) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: 'python3',
        display_name: 'Python 3',
        language: 'python'
      },
      language_info: { name: 'python' }
    },
    cells: cells.map(({ id, source, cell_type = 'code' }) => ({
      id,
      cell_type,
      source,
      metadata: {},
      ...(cell_type === 'code' ? { outputs: [], execution_count: null } : {})
    }))
  };
}

export async function putNotebook(target, path, cells) {
  const url = `${target.url}/api/contents/${encodeURIComponent(path)}`;
  const res = await fetch(url, {
    method: 'PUT',
    headers: {
      'Content-Type': 'application/json',
      Authorization: `token ${target.token}`
    },
    body: JSON.stringify({
      type: 'notebook',
      format: 'json',
      content: notebookJson(cells)
    })
  });
  if (!res.ok) {
    throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`);
  }
}

export async function getNotebook(target, path) {
  const url = `${target.url}/api/contents/${encodeURIComponent(path)}?content=1`;
  const res = await fetch(url, {
    headers: { Authorization: `token ${target.token}` }
  });
  return (await res.json()).content;
}

/** Wait until the notebook's kernel reports idle (it starts with the notebook). */
export async function waitForKernelIdle(page) {
  await page.waitForSelector(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator[data-status="idle"]',
    {
      timeout: 60_000
    }
  );
}

/** Select cell `index` of the current notebook and run it with Shift+Enter (never waits on errors). */
export async function runCell(page, index) {
  const cell = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').nth(index);
  await cell.locator('.jp-InputPrompt').click();
  await page.keyboard.press('Shift+Enter');
}

/** Cells of the current notebook as {source, metadata} read from the page's notebook model. */
export async function cellSources(page) {
  return page
    .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .jp-InputArea-editor')
    .evaluateAll(editors => editors.map(e => e.textContent ?? ''));
}

/**
 * Run every cell of the current notebook from the Run menu, as a person does (requests queue in the kernel). A menu
 * opened before the notebook has focus can miss: retry until the first cell shows it ran.
 */
export async function runAll(page) {
  const first = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell').first();
  for (let attempt = 0; attempt < 3; attempt++) {
    await first.locator('.jp-InputPrompt').click();
    await page.locator('.lm-MenuBar-item', { hasText: /^Run$/ }).click();
    await page
      .locator('.lm-Menu-item:not(.lm-mod-disabled)', { hasText: /^Run All Cells/ })
      .first()
      .click();
    try {
      await first.locator('.jp-InputPrompt', { hasText: /\[(\d+|\*)\]/ }).waitFor({ timeout: 10_000 });
      return;
    } catch {
      await page.keyboard.press('Escape');
    }
  }
  throw new Error('Run All did not start');
}

/** Index of the first cell of the current notebook whose source starts with `prefix` (-1 if none). */
export async function cellIndex(page, prefix) {
  return (await cellSources(page)).findIndex(s => s.startsWith(prefix));
}

/** Texts of the stderr outputs in the current notebook (tracebacks, warnings printed in red). */
export async function stderrTexts(page) {
  return page
    .locator(
      '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    )
    .allInnerTexts();
}
