/**
 * Browser test helpers: find (or start) a JupyterLab, drive it with playwright-core and the system chromium.
 *
 * MLINTERN_LAB_URL (e.g. http://127.0.0.1:8888/lab) and MLINTERN_LAB_TOKEN point at a running server.
 * Without them a throwaway server is started from the venv with the built extension linked in
 * (see server.mjs). Screenshots go to ui-tests/artifacts/ (gitignored).
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startLab } from './server.mjs';

export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
];

/** Resolve the lab under test: from the environment, or a fresh local server. */
export async function labTarget() {
  const url = process.env.MLINTERN_LAB_URL;
  if (url) {
    return {
      url: url.replace(/\/$/, ''),
      token: process.env.MLINTERN_LAB_TOKEN ?? '',
      stop: async () => {}
    };
  }
  return startLab();
}

/** A fresh browser profile for every run: no cached state between tests. */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'mlintern-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.MLINTERN_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 900 }
  });
  // Nothing outside the lab server: a test must never depend on (or leak to) the internet.
  await context.route(/^(?!http:\/\/(127\.0\.0\.1|localhost)[:/])/, route => route.abort());
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  };
}

export function labUrl(target, path = '') {
  const base = target.url.endsWith('/lab') ? target.url : `${target.url}/lab`;
  const url = new URL(base + path);
  if (target.token) {
    url.searchParams.set('token', target.token);
  }
  return url.toString();
}

/** Open JupyterLab and wait until the shell is up. */
export async function openLab(page, target, path = '') {
  await page.goto(labUrl(target, path));
  await page.waitForSelector('#jp-main-dock-panel', { timeout: 60_000 });
  await dismissNotifications(page);
}

export async function dismissNotifications(page) {
  // A fresh profile asks whether to fetch news; answer no so the toast does not cover the panel.
  const no = page.locator('.jp-Notification-Toast button', { hasText: /^No$/ });
  if (await no.count()) {
    await no
      .first()
      .click()
      .catch(() => {});
  }
}

/**
 * Show the mlintern side panel (its tab sits in the right sidebar). While the lab restores its layout the panel can
 * open or close under us (after a reload it comes back open), so a click may toggle it shut: click until it stays.
 */
export async function openPanel(page) {
  const panel = page.locator('[data-testid="mlintern-panel"]');
  const tab = page.locator('.jp-SideBar.jp-mod-right [data-id="mlintern-panel"]');
  for (let attempt = 0; attempt < 4 && !(await panel.isVisible()); attempt++) {
    await tab.click();
    await panel.waitFor({ state: 'visible', timeout: 5_000 }).catch(() => {});
  }
  await panel.waitFor({ state: 'visible' });
  return panel;
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}
