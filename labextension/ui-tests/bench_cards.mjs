/**
 * Benchmark (issue 13), in Chromium against a real JupyterLab with the built extension, the side panel and the
 * inline card (the anywidget) measured side by side in one run:
 *  - render: a 1,000-event session, from the kernel sending the history (the panel's hello, the card's history
 *    request) to its last card painted; panel and inline card fed the same events by the same kernel;
 *  - live: an event leaving the kernel (stamped with time.time()) to its card painted, the same events sent to
 *    the panel's comm and to the inline card;
 *  - approve -> running: the real kernel side (%load_ext, a scripted model launching a local hf_jobs run); from
 *    the click on Approve (in the panel, or in the inline card) to the job card showing the job running there.
 * Both clocks are this machine's wall clock (Python's time.time() and the page's Date.now()).
 *
 * Run: node ui-tests/bench_cards.mjs [approve rounds]   (from labextension/, after npm run build; one JSON line last)
 */

/* global document, performance, requestAnimationFrame -- used inside page callbacks, which run in the browser */

import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  history,
  installProbe,
  PANEL_TARGET,
  putHistory,
  quantile,
  runAndCheck,
  waitFor
} from './bench_common.mjs';
import { labTarget, launchBrowser, openLab, openPanel, screenshot } from './lab.mjs';
import { PROTOCOL_VERSION, putNotebook, waitForKernelIdle } from './notebook.mjs';

const HISTORY_EVENTS = 1000;
const LIVE_EVENTS = 60;
const LIVE_GAP_S = 0.05;
const APPROVE_ROUNDS = Number(process.argv[2] ?? process.env.MLINTERN_BENCH_RUNS ?? 3);
const ROOTS = {
  panel: '[data-testid="mlintern-panel"] [data-testid="mlintern-timeline"]',
  inline: '[data-testid="mlintern-inline-card"] [data-testid="mlintern-timeline"]'
};

/** Kernel side: the panel's comm target and an inline card, fed the same history and the same live events. */
const KERNEL_SIDE = `${PANEL_TARGET}
from mlintern_jupyter.agent import events as ev
from mlintern_jupyter.jupyter.view import TurnView

view = TurnView(renderer="anywidget", model="demo", offline=True)
for data in HISTORY:
    view.update(ev.event_from_dict(data))
END = view.card.history[-2]

def _stamped(widget, content, buffers):
    # The card's history reply, stamped when the kernel sends it (as the panel's hello reply above).
    if isinstance(content, dict) and content.get("type") == "history":
        END["text"] = "BENCH_END %.3f" % (time.time() * 1000)
    view.card._received(widget, content, buffers)

view.card.on_msg(view.card._received, remove=True)
view.card.on_msg(_stamped)

def bench_live(n, gap):
    seq = HISTORY[-1]["seq"]
    for i in range(n):
        seq += 1
        base = {"kind": "assistant_message", "session_id": "bench", "seq": seq, "ts": "2025-01-01T00:00:00.000Z",
                "tool_calls": []}
        COMMS[-1].send({"type": "event", "v": __VERSION__,
                        "event": {**base, "text": "LIVE %d %.3f" % (i, time.time() * 1000)}})
        view.update(ev.event_from_dict({**base, "text": "LIVE %d %.3f" % (i, time.time() * 1000)}))
        time.sleep(gap)
`;

async function renderAndLive(browser, target) {
  await putHistory(target, history(HISTORY_EVENTS));
  await putNotebook(target, 'bench_cards.ipynb', [
    { id: 'bench-kernel', source: KERNEL_SIDE.replaceAll('__VERSION__', String(PROTOCOL_VERSION)) },
    { id: 'anchor-cell', source: 'view.display("anchor-cell")' },
    { id: 'live-cell', source: `bench_live(${LIVE_EVENTS}, ${LIVE_GAP_S})` }
  ]);
  const page = await browser.context.newPage();
  page.on('pageerror', err => console.error('page error:', err.message));
  await page.addInitScript(installProbe, ROOTS);
  await openLab(page, target, '/tree/bench_cards.ipynb');
  await openPanel(page);
  await waitForKernelIdle(page);
  await page.locator('[data-testid="mlintern-status"]', { hasText: '%load_ext' }).waitFor();
  await runAndCheck(page, 0); // the panel says hello after this execution: it gets the history
  await waitFor(page, () => window.__bench.panel.end.length > 0);
  await runAndCheck(page, 1); // the inline card's view opens and asks for the history
  await waitFor(page, () => window.__bench.inline.end.length > 0);
  await runAndCheck(page, 2);
  await waitFor(
    page,
    n =>
      Object.keys(window.__bench.panel.live).length >= n &&
      Object.keys(window.__bench.inline.live).length >= n,
    LIVE_EVENTS
  );
  const probe = await page.evaluate(() => window.__bench);
  await screenshot(page, 'bench-cards');
  await page.close();
  const out = {};
  for (const name of Object.keys(ROOTS)) {
    const live = Object.values(probe[name].live).sort((a, b) => a - b);
    out[name] = {
      render_ms: Math.round(probe[name].end[0].ms),
      cards: probe[name].end[0].cards,
      live_events: live.length,
      event_to_card_ms_p50: Math.round(quantile(live, 0.5)),
      event_to_card_ms_p95: Math.round(quantile(live, 0.95)),
      event_to_card_ms_max: Math.round(live[live.length - 1])
    };
  }
  return out;
}

/** The scripted model's turn: launch a local job that runs a few seconds (hf_jobs asks a person first). */
function jobScript() {
  const dir = mkdtempSync(join(tmpdir(), 'mlintern-bench-cards-'));
  const path = join(dir, 'job.json');
  const call = {
    name: 'hf_jobs',
    arguments: {
      operation: 'run',
      command: ['bash', '-c', 'echo started; sleep 4; echo done'],
      runtime: 'local',
      timeout: '10m'
    }
  };
  writeFileSync(path, JSON.stringify([{ text: 'Launching the job.', tool_calls: [call] }, 'Launched.']));
  return path;
}

/** Click Approve in `where` and time it in the page until that view's job card says the job is running. */
async function approveToRunning(page, where) {
  const root = where === 'panel' ? '[data-testid="mlintern-panel"]' : '[data-testid="mlintern-inline-card"]';
  const approve = page.locator(
    `${root} [data-testid="mlintern-approval-card"] [data-testid="mlintern-approve"]`
  );
  await approve.first().waitFor({ timeout: 60_000 });
  return page.evaluate(
    selector =>
      new Promise((resolve, reject) => {
        const button = document.querySelector(`${selector} [data-testid="mlintern-approve"]`);
        const started = performance.now();
        button.click();
        const poll = () => {
          const status = document.querySelector(`${selector} [data-testid="mlintern-job-status"]`);
          if (status && /RUNNING|COMPLETED/i.test(status.textContent ?? '')) {
            resolve(performance.now() - started);
          } else if (performance.now() - started > 60_000) {
            reject(new Error('no running job card within 60 s'));
          } else {
            requestAnimationFrame(poll);
          }
        };
        requestAnimationFrame(poll);
      }),
    root
  );
}

async function approveLatency(browser, target) {
  const model = jobScript();
  await putNotebook(target, 'bench_approve.ipynb', [
    { id: 'load', source: '%load_ext mlintern_jupyter' },
    { id: 'intern', source: `%%intern --new --model scripted:${model}\nrun the job` }
  ]);
  const page = await browser.context.newPage();
  page.on('pageerror', err => console.error('page error:', err.message));
  await openLab(page, target, '/tree/bench_approve.ipynb');
  const panel = await openPanel(page);
  await waitForKernelIdle(page);
  await panel.locator('[data-testid="mlintern-status"]', { hasText: '%load_ext' }).waitFor();
  await runAndCheck(page, 0);
  await panel.locator('[data-testid="mlintern-status"]').waitFor({ state: 'hidden' });
  const rounds = { panel: [], inline: [] };
  for (let round = 0; round < APPROVE_ROUNDS; round++) {
    for (const where of ['panel', 'inline']) {
      await runAndCheck(page, 1);
      rounds[where].push(await approveToRunning(page, where));
      // The turn ends with the job launched; wait for the job's end so the next round starts clean.
      await panel
        .locator('[data-testid="mlintern-job-status"]', { hasText: /COMPLETED|ERROR/ })
        .first()
        .waitFor({ timeout: 60_000 });
    }
  }
  await screenshot(page, 'bench-approve');
  await page.close();
  const summary = values => {
    const sorted = [...values].sort((a, b) => a - b);
    return {
      rounds: sorted.length,
      median_ms: Math.round(quantile(sorted, 0.5)),
      max_ms: Math.round(sorted.at(-1))
    };
  };
  return { panel: summary(rounds.panel), inline: summary(rounds.inline) };
}

async function main() {
  const started = Date.now();
  const target = await labTarget();
  const browser = await launchBrowser();
  try {
    if (!target.root) {
      throw new Error(
        'bench_cards needs its own lab (unset MLINTERN_LAB_URL): it writes a file next to the notebook'
      );
    }
    const views = await renderAndLive(browser, target);
    const approve = await approveLatency(browser, target);
    const figures = {
      bench: 'cards',
      how: 'real JupyterLab + built extension + anywidget, system chromium; render/live: a kernel cell feeding the panel comm and an inline card the same events; approve: the real kernel side',
      history_events: HISTORY_EVENTS,
      panel: { ...views.panel, approve_to_running: approve.panel },
      inline: { ...views.inline, approve_to_running: approve.inline },
      wall_s: Math.round((Date.now() - started) / 100) / 10
    };
    for (const name of ['panel', 'inline']) {
      const f = figures[name];
      console.log(
        `${name}: render ${f.render_ms} ms (${f.cards} cards); event -> card p50 ${f.event_to_card_ms_p50} ms, ` +
          `p95 ${f.event_to_card_ms_p95} ms; approve -> running median ${f.approve_to_running.median_ms} ms`
      );
    }
    console.log(JSON.stringify(figures));
  } finally {
    await browser.close();
    await target.stop();
  }
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
