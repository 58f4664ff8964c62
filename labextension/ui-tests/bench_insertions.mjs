/**
 * Benchmark (issue 13 item 1), in Chromium against a real JupyterLab with the built extension and the real kernel:
 * cells per insertion over RUNS runs of each path (goal: exactly one, right below its %%intern cell, every time).
 *  - run_all: Run All on a quickstart-like notebook with the side panel open (insertions.mjs runAllFlow);
 *  - two_sessions: two `--new` demo sessions run one after the other with the panel attached (twoSessionsFlow).
 * Each run gets its own notebook and kernel (shut down afterwards). The headless paths are in
 * tests/bench_insertions.py.
 *
 * Run: node ui-tests/bench_insertions.mjs [runs]   (from labextension/, after npm run build; one JSON line last)
 */

import { labTarget, launchBrowser, screenshot } from './lab.mjs';
import { runAllFlow, runAllProblem, twoSessionsFlow, twoSessionsProblem } from './insertions.mjs';

const RUNS = Number(process.argv[2] ?? process.env.MLINTERN_BENCH_RUNS ?? 20);

async function shutdownKernels(target) {
  const headers = { Authorization: `token ${target.token}` };
  const sessions = await (await fetch(`${target.url}/api/sessions`, { headers })).json();
  for (const session of sessions) {
    await fetch(`${target.url}/api/sessions/${session.id}`, { method: 'DELETE', headers });
  }
}

async function main() {
  const target = await labTarget();
  const browser = await launchBrowser();
  const figures = { bench: 'insertions_ui', runs: RUNS };
  try {
    for (const [path, flow, problem] of [
      ['run_all', runAllFlow, runAllProblem],
      ['two_sessions', twoSessionsFlow, twoSessionsProblem]
    ]) {
      let exact = 0;
      const failures = [];
      const seconds = [];
      for (let i = 0; i < RUNS; i++) {
        const page = await browser.context.newPage();
        const started = Date.now();
        let why;
        try {
          why = problem(await flow(page, target, `bench-${path}-${i}.ipynb`, { settleMs: 2_000 }));
        } catch (err) {
          why = `error: ${String(err.message ?? err).split('\n')[0]}`;
          await screenshot(page, `bench-insertions-${path}-${i}`).catch(() => {});
        }
        seconds.push((Date.now() - started) / 1000);
        exact += why === '' ? 1 : 0;
        if (why) {
          failures.push(`run ${i}: ${why}`);
        }
        console.log(`chromium ${path} run ${i}: ${why || 'exact'} (${seconds.at(-1).toFixed(1)} s)`);
        await page.close();
        await shutdownKernels(target);
      }
      figures[`chromium_${path}`] = {
        exact_runs: exact,
        failures: failures.slice(0, 5),
        mean_s: Math.round((seconds.reduce((a, b) => a + b, 0) / seconds.length) * 10) / 10
      };
    }
  } finally {
    await browser.close();
    await target.stop();
  }
  console.log(JSON.stringify(figures));
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
