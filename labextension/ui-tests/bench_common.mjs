/** Shared by the browser benchmarks (bench_panel.mjs, bench_cards.mjs): a session history, waits, quantiles. */

/* global document, requestAnimationFrame -- used inside the probe, which runs in the browser */

import { screenshot } from './lab.mjs';
import { runCell } from './notebook.mjs';

/** A realistic session of exactly `total` events: iterations of text, tool call, output, result and usage. */
export function history(total) {
  let seq = 0;
  const ev = (kind, fields) => ({
    kind,
    session_id: 'bench',
    seq: ++seq,
    ts: '2025-01-01T00:00:00.000Z',
    ...fields
  });
  const events = [
    ev('session_started', { model: 'demo', approve_mode: 'auto', budget_usd: 5, demo: true }),
    ev('user_prompt', { text: 'train a classifier on the digits data', cell_id: 'anchor-cell' })
  ];
  for (let i = 0; events.length + 6 <= total - 2; i++) {
    const call = `call_${i}`;
    const args = { path: `scripts/step_${i}.py`, last: 20 };
    events.push(
      ev('assistant_message', {
        text: `Step ${i}: reading **step_${i}.py** and checking the \`loss\` so far.`,
        tool_calls: [{ id: call, name: 'read', arguments: JSON.stringify(args) }]
      }),
      ev('tool_call', { call_id: call, tool: 'read', arguments: args }),
      ev('tool_started', { call_id: call, tool: 'read' }),
      ev('tool_output', { call_id: call, text: `step ${i} loss=${(1 / (i + 1)).toFixed(4)}\n`.repeat(5) }),
      ev('tool_result', {
        call_id: call,
        tool: 'read',
        ok: true,
        content: `def train():\n    # step ${i}\n    pass\n`.repeat(4),
        status: 'ok',
        duration_s: 0.01
      }),
      ev('usage', { prompt_tokens: 1200 + i, completion_tokens: 80, cost_usd: 0.001, model: 'demo' })
    );
  }
  // The last card's text is stamped by the kernel when it sends the history (see KERNEL_SIDE).
  events.push(ev('assistant_message', { text: 'BENCH_END 0', tool_calls: [] }));
  events.push(ev('turn_ended', { reason: 'done', iterations: 166 }));
  if (events.length !== total) {
    throw new Error(`built ${events.length} events, wanted ${total}`);
  }
  return events;
}

export async function waitFor(page, fn, arg, timeout = 60_000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 });
  } catch (err) {
    await screenshot(page, 'bench-failure');
    const panel = await page
      .locator('[data-testid="mlintern-panel"]')
      .innerText()
      .catch(() => '(no panel)');
    throw new Error(
      `${err.message}\npanel text: ${panel.slice(0, 500)}\nprobe: ${await page
        .evaluate(() => JSON.stringify(window.__bench))
        .catch(() => '?')}`
    );
  }
}

/** Run a cell and make sure it did run: a Shift+Enter that lands before the notebook settles is lost. */
export async function runAndCheck(page, index) {
  const prompt = page
    .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell')
    .nth(index)
    .locator('.jp-InputPrompt');
  for (let attempt = 0; attempt < 3; attempt++) {
    await runCell(page, index);
    try {
      await prompt.filter({ hasText: /\[(\d+|\*)\]/ }).waitFor({ timeout: 5_000 });
      return;
    } catch {
      // not started; try again
    }
  }
  throw new Error(`cell ${index} did not run`);
}

export function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * The kernel side of the panel in a benchmark: a fake `mlintern` comm target (registered when the cell runs)
 * answering the panel's hello with bench_history.json, its end card stamped with the time it is sent. Python
 * source; __VERSION__ is replaced with the protocol version.
 */
export const PANEL_TARGET = `import json, time
HISTORY = json.load(open("bench_history.json"))
COMMS = []

def _target(comm, open_msg):
    COMMS.append(comm)
    def on_msg(msg):
        if (msg["content"]["data"].get("command") or {}).get("type") == "hello":
            HISTORY[-2]["text"] = "BENCH_END %.3f" % (time.time() * 1000)
            comm.send({"type": "events", "v": __VERSION__, "events": HISTORY})
    comm.on_msg(on_msg)
    on_msg(open_msg)

get_ipython().kernel.comm_manager.register_target("mlintern", _target)
`;

/** In the page: when each BENCH_END / LIVE card is first painted, per root (observer, then the next frame). */
export function installProbe(roots) {
  window.__bench = Object.fromEntries(Object.keys(roots).map(name => [name, { end: [], live: {} }]));
  const seen = new Set();
  const check = () => {
    for (const [name, selector] of Object.entries(roots)) {
      const timeline = document.querySelector(selector);
      const cards = timeline ? timeline.querySelectorAll('[data-testid="mlintern-assistant-text"]') : [];
      // Only the newest few cards can be new; scanning all 1,000 on every mutation would distort the figure.
      for (let i = Math.max(0, cards.length - 3); i < cards.length; i++) {
        const m = /(BENCH_END|LIVE (\d+)) ([\d.]+)/.exec(cards[i].textContent ?? '');
        const key = m && `${name} ${m[2] === undefined ? `end ${m[3]}` : `live ${m[2]}`}`;
        if (!m || seen.has(key)) {
          continue;
        }
        seen.add(key);
        const sent = Number(m[3]);
        const count = timeline.children.length;
        requestAnimationFrame(() => {
          const painted = Date.now();
          if (m[2] === undefined) {
            window.__bench[name].end.push({ ms: painted - sent, cards: count });
          } else {
            window.__bench[name].live[m[2]] = painted - sent;
          }
        });
      }
    }
  };
  new window.MutationObserver(check).observe(document, {
    childList: true,
    subtree: true,
    characterData: true
  });
}

/** The session history the benchmark's kernel side serves: bench_history.json next to the notebook. */
export async function putHistory(target, events) {
  const res = await fetch(`${target.url}/api/contents/bench_history.json`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: `token ${target.token}` },
    body: JSON.stringify({ type: 'file', format: 'text', content: JSON.stringify(events) })
  });
  if (!res.ok) {
    throw new Error(`PUT bench_history.json: ${res.status}`);
  }
}
