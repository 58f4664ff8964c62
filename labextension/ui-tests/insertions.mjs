/**
 * The two ways a person gets the demo's script cell in JupyterLab, as flows shared by the end-to-end tests and the
 * insertion benchmark (bench_insertions.mjs): Run All on a quickstart-like notebook with the side panel open (the
 * kernel's fallback writes the cell during the blocking --wait cell; the panel attaches after and finds it), and two
 * `--new` demo sessions run one after the other with the panel attached (the demo model reuses call ids).
 * Each returns what the notebook holds afterwards; the callers assert or count.
 */

/* global document -- used inside page.waitForFunction callbacks, which run in the browser */

import { openLab, openPanel } from './lab.mjs';
import {
  cellIndex,
  cellSources,
  getNotebook,
  putNotebook,
  runAll,
  runCell,
  stderrTexts,
  waitForKernelIdle
} from './notebook.mjs';

export const NOTEBOOK = '.jp-NotebookPanel:not(.lm-mod-hidden)';
const LOAD = { id: 'load', source: '%load_ext mlintern_jupyter' };
const DIGITS = { id: 'digits', source: 'from sklearn.datasets import load_digits\ndigits = load_digits()' };
export const DEMO = '%%intern --model demo --approve auto --budget 1 --wait';
// The first line of the training script the demo model writes into a new cell (agent/models/demo.py).
export const SCRIPT_HEAD = '# /// script';

async function scriptCount(page) {
  return (await cellSources(page)).filter(s => s.startsWith(SCRIPT_HEAD)).length;
}

/** Wait until the current notebook holds more than `count` script cells. */
async function moreScripts(page, count, timeout) {
  await page.waitForFunction(
    ([head, n]) =>
      [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .jp-InputArea-editor')]
        .map(e => e.textContent ?? '')
        .filter(s => s.startsWith(head)).length > n,
    [SCRIPT_HEAD, count],
    { timeout, polling: 200 }
  );
}

async function attachPanel(page, target, name, cells) {
  await putNotebook(target, name, cells);
  // `reset`: a fresh workspace, not every notebook of the earlier runs restored beside this one.
  await openLab(page, target, `/tree/${name}?reset`);
  const panel = await openPanel(page);
  await waitForKernelIdle(page);
  await panel.locator('[data-testid="mlintern-status"]', { hasText: '%load_ext' }).waitFor();
  return panel;
}

/** Run All; returns the cells' sources, the saved notebook's stamped cells and the stderr outputs. */
export async function runAllFlow(page, target, name, { settleMs = 3_000 } = {}) {
  const panel = await attachPanel(page, target, name, [
    LOAD,
    DIGITS,
    { id: 'intern', source: `${DEMO}\nTrain a classifier on the \`digits\` data I loaded.` },
    { id: 'status', source: '%intern status' }
  ]);
  await runAll(page);
  // The last cell ran (after the --wait turn), then the panel attached and read the history.
  await page.locator(`${NOTEBOOK} .jp-Cell`, { hasText: 'approve mode auto' }).waitFor({ timeout: 240_000 });
  await panel
    .locator('[data-testid="mlintern-assistant-text"]', { hasText: 'test accuracy' })
    .first()
    .waitFor({ timeout: 60_000 });
  await page.waitForTimeout(settleMs); // time for a second writer, if there were one
  const sources = await cellSources(page);
  await page.keyboard.press('Control+s');
  await page.waitForTimeout(1_000);
  const saved = await getNotebook(target, name);
  return {
    sources,
    stamped: saved.cells.filter(c => c.metadata?.mlintern?.insert_id),
    stderr: await stderrTexts(page)
  };
}

/** Two --new demo sessions, run one after the other with the panel attached; returns the cells' sources. */
export async function twoSessionsFlow(page, target, name, { settleMs = 3_000 } = {}) {
  const panel = await attachPanel(page, target, name, [
    LOAD,
    DIGITS,
    { id: 'first', source: `${DEMO}\nTrain a classifier on \`digits\`.` },
    { id: 'second', source: `${DEMO} --new\nTrain another classifier on \`digits\`.` },
    { id: 'later', source: "print('a later cell')" }
  ]);
  await runCell(page, 0);
  await panel.locator('[data-testid="mlintern-status"]').waitFor({ state: 'hidden' });
  await runCell(page, 1);
  // An editor's text has no newlines between its lines.
  for (const prefix of [`${DEMO}Train a classifier`, `${DEMO} --new`]) {
    const before = await scriptCount(page);
    await runCell(page, await cellIndex(page, prefix));
    await moreScripts(page, before, 240_000);
    await waitForKernelIdle(page);
  }
  await page.waitForTimeout(settleMs);
  return { sources: await cellSources(page), stderr: await stderrTexts(page) };
}

/** A traceback or the stray "Task was destroyed but it is pending" (issue 13) printed into the notebook. */
function stderrProblem(stderr) {
  const bad = stderr.filter(s => /Task was destroyed|Traceback/.test(s));
  return bad.length ? `stderr: ${bad[0].split('\n')[0]}` : '';
}

/** Exactly one script cell below each %%intern cell, nothing else moved: '' when so, else what is wrong. */
export function runAllProblem({ sources, stamped, stderr }) {
  if (stderrProblem(stderr)) {
    return stderrProblem(stderr);
  }
  const scripts = sources.filter(s => s.startsWith(SCRIPT_HEAD)).length;
  if (scripts !== 1) {
    return `${scripts} script cells`;
  }
  if (
    !sources[2].startsWith('%%intern') ||
    !sources[3].startsWith(SCRIPT_HEAD) ||
    sources[4] !== '%intern status'
  ) {
    return `out of place: ${JSON.stringify(sources.map(s => s.slice(0, 30)))}`;
  }
  return stamped.length === 1 ? '' : `${stamped.length} cells stamped with an insert id`;
}

export function twoSessionsProblem({ sources, stderr }) {
  if (stderrProblem(stderr)) {
    return stderrProblem(stderr);
  }
  const ok =
    sources.length === 7 &&
    sources[2].startsWith(`${DEMO}Train`) &&
    sources[3].startsWith(SCRIPT_HEAD) &&
    sources[4].startsWith(`${DEMO} --new`) &&
    sources[5].startsWith(SCRIPT_HEAD) &&
    sources[6] === "print('a later cell')";
  return ok ? '' : `cells: ${JSON.stringify(sources.map(s => s.slice(0, 30)))}`;
}
