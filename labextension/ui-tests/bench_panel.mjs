/**
 * Benchmark (issue 7), in Chromium against a real JupyterLab with the built extension:
 *  - render: time from the kernel sending a 1,000-event session history (comm reply to the panel's hello) to its
 *    last card painted in the side panel; measured on the first connection and again after page reloads;
 *  - live: time from an event leaving the kernel (comm.send, stamped with time.time()) to its card painted.
 * The kernel side is a fake `mlintern` comm target run in a notebook cell (as in tests/panel.spec.mjs), so the
 * figures cover transport + the panel's parse, reduce and render, not the engine.
 * Both clocks are this machine's wall clock (Python's time.time() and the page's Date.now()).
 *
 * Run: node ui-tests/bench_panel.mjs   (from labextension/, after npm run build; prints one JSON line last)
 */

import {
  history,
  installProbe,
  PANEL_TARGET,
  putHistory,
  quantile,
  runAndCheck,
  waitFor
} from './bench_common.mjs';
import { labTarget, launchBrowser, openLab, openPanel } from './lab.mjs';
import { PROTOCOL_VERSION, putNotebook, waitForKernelIdle } from './notebook.mjs';

const HISTORY_EVENTS = 1000;
const RELOADS = 2;
const LIVE_EVENTS = 60;
const LIVE_GAP_S = 0.05;

const KERNEL_SIDE = `${PANEL_TARGET}
def bench_live(n, gap):
    seq = HISTORY[-1]["seq"]
    for i in range(n):
        seq += 1
        event = {"kind": "assistant_message", "session_id": "bench", "seq": seq, "ts": "2025-01-01T00:00:00.000Z",
                 "tool_calls": []}
        event["text"] = "LIVE %d %.3f" % (i, time.time() * 1000)
        COMMS[-1].send({"type": "event", "v": __VERSION__, "event": event})
        time.sleep(gap)

`;

async function main() {
  const started = Date.now();
  const target = await labTarget();
  const browser = await launchBrowser();
  try {
    if (!target.root) {
      throw new Error(
        'bench_panel needs its own lab (unset MLINTERN_LAB_URL): it writes a file next to the notebook'
      );
    }
    await putHistory(target, history(HISTORY_EVENTS));
    await putNotebook(target, 'bench.ipynb', [
      { id: 'bench-kernel', source: KERNEL_SIDE.replaceAll('__VERSION__', String(PROTOCOL_VERSION)) },
      { id: 'anchor-cell', source: `bench_live(${LIVE_EVENTS}, ${LIVE_GAP_S})` }
    ]);
    const page = await browser.context.newPage();
    page.on('pageerror', err => console.error('page error:', err.message));
    const render = [];
    let cards = 0;
    await page.addInitScript(installProbe, { panel: '[data-testid="mlintern-timeline"]' });
    for (let load = 0; load <= RELOADS; load++) {
      await openLab(page, target, '/tree/bench.ipynb');
      await openPanel(page);
      await waitForKernelIdle(page);
      if (load === 0) {
        await page.locator('[data-testid="mlintern-status"]', { hasText: '%load_ext' }).waitFor();
        // The panel says hello after the first execution; the kernel answers with the history.
        await runAndCheck(page, 0);
      }
      await waitFor(page, () => window.__bench && window.__bench.panel.end.length > 0);
      const [end] = await page.evaluate(() => window.__bench.panel.end);
      render.push(end.ms);
      cards = end.cards;
    }
    await runAndCheck(page, 1);
    await waitFor(
      page,
      n => window.__bench && Object.keys(window.__bench.panel.live).length >= n,
      LIVE_EVENTS
    );
    const live = Object.values(await page.evaluate(() => window.__bench.panel.live)).sort((a, b) => a - b);
    const figures = {
      bench: 'panel',
      how: 'real JupyterLab + built extension, fake kernel-side comm target, system chromium',
      history_events: HISTORY_EVENTS,
      timeline_cards: cards,
      render_ms_first: Math.round(render[0]),
      render_ms_after_reload: render.slice(1).map(Math.round),
      render_ms_median: Math.round([...render].sort((a, b) => a - b)[Math.floor(render.length / 2)]),
      live_events: live.length,
      event_to_card_ms_p50: Math.round(quantile(live, 0.5)),
      event_to_card_ms_p95: Math.round(quantile(live, 0.95)),
      event_to_card_ms_max: Math.round(live[live.length - 1]),
      wall_s: Math.round((Date.now() - started) / 100) / 10
    };
    console.log(
      `panel render of ${HISTORY_EVENTS} events (${cards} cards): first ${figures.render_ms_first} ms, ` +
        `after reload ${figures.render_ms_after_reload.join(', ')} ms`
    );
    console.log(
      `event -> card (${live.length} live events): p50 ${figures.event_to_card_ms_p50} ms, ` +
        `p95 ${figures.event_to_card_ms_p95} ms, max ${figures.event_to_card_ms_max} ms`
    );
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
