/**
 * A throwaway JupyterLab for browser tests: its own port, token, root dir, config and runtime dirs, and the
 * built extension (../../mlintern_jupyter/labextension) linked in through JUPYTER_PATH, so nothing in the
 * venv or the home directory is touched.
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const BUILT = join(REPO, 'mlintern_jupyter/labextension');

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
    srv.on('error', rej);
  });
}

async function waitForServer(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`jupyter lab exited with ${child.exitCode}`);
    }
    try {
      const res = await fetch(url);
      if (res.ok) {
        return;
      }
    } catch {
      // not up yet
    }
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error(`jupyter lab did not answer at ${url}`);
}

export async function startLab() {
  if (!existsSync(join(BUILT, 'package.json'))) {
    throw new Error(`no built extension at ${BUILT}: run npm run build first`);
  }
  const home = mkdtempSync(join(tmpdir(), 'mlintern-lab-'));
  const data = join(home, 'data');
  const root = join(home, 'root');
  mkdirSync(join(data, 'labextensions'), { recursive: true });
  mkdirSync(root);
  symlinkSync(BUILT, join(data, 'labextensions', 'mlintern-jupyter'));
  // No "fetch news?" toast: it covers the panel's bottom controls.
  mkdirSync(join(home, 'config', 'labconfig'), { recursive: true });
  writeFileSync(
    join(home, 'config', 'labconfig', 'default_setting_overrides.json'),
    JSON.stringify({
      '@jupyterlab/apputils-extension:notification': {
        fetchNews: 'false',
        checkForUpdates: false
      }
    })
  );
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const venvBin = process.env.MLINTERN_VENV_BIN ?? join(REPO, '.venv/bin');
  const env = {
    ...process.env,
    PATH: `${venvBin}:${process.env.PATH}`,
    JUPYTER_PATH: data,
    // The kernel imports mlintern_jupyter from this checkout, installed or not.
    PYTHONPATH: [REPO, process.env.PYTHONPATH].filter(Boolean).join(':'),
    JUPYTER_CONFIG_DIR: join(home, 'config'),
    JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
    IPYTHONDIR: join(home, 'ipython'),
    MLINTERN_HOME: join(home, 'mlintern')
  };
  const args = [
    'lab',
    '--no-browser',
    '--allow-root',
    `--port=${port}`,
    '--ServerApp.ip=127.0.0.1',
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${root}`,
    '--LabApp.news_url=',
    '--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate'
  ];
  const child = spawn(join(venvBin, 'jupyter'), args, {
    env,
    stdio: ['ignore', 'ignore', 'pipe']
  });
  let log = '';
  child.stderr.on('data', chunk => {
    log += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForServer(`${url}/api/status?token=${token}`, child);
  } catch (err) {
    child.kill();
    throw new Error(`${err.message}\n${log}`);
  }
  return {
    url,
    token,
    root,
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise(r => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(home, { recursive: true, force: true });
    }
  };
}
