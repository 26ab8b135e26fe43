/**
 * Protocol test: the extension's request builders and result readers, driven
 * with vscode-jsonrpc against the real Python server over stdio, on a fixture
 * git repository. Bundled by esbuild and run with `node --test`.
 *
 * The server is found the way the extension finds it (rtk.server.command /
 * pythonPath / rtk-lsp on PATH); RTK_LSP_COMMAND or RTK_LSP_PYTHON override.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import {
  type MessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
} from 'vscode-jsonrpc/node';
import { chooseLaunch, describeCandidate, launchCandidates, nodeProbeHost } from '../../src/launch';
import {
  ErrorCodes,
  Methods,
  type ServerStatus,
  buildPlanParams,
  classifyPlanError,
  notFitting,
  parseFolderStatus,
  parsePlan,
  parseStatus,
  summarizeStatus,
} from '../../src/protocol';
import { type ServerOptions, toServerOptions } from '../../src/settings';
import { EXPECTED_FILE, EXPECTED_SYMBOLS, TASK, definitionLine, makeFixtureRepo, symbolMatches } from '../fixture/make-fixture.mjs';

const STEP_TIMEOUT_MS = 60_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

describe('rtk-lsp protocol over stdio', { timeout: 180_000 }, () => {
  let dir: string;
  let workspace: string;
  let folderUri: string;
  let proc: ChildProcess;
  let conn: MessageConnection;
  let stderr = '';
  // The extension's defaults, with the HTTP endpoint (off by default) turned on to test its announcement.
  let settings: ServerOptions = toServerOptions({ get: <T>(key: string) => (key === 'http.enabled' ? (true as T) : undefined) });
  const httpReady: unknown[] = [];
  const configRequests: unknown[] = [];
  const progressCreated: unknown[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rtk-protocol-'));
    workspace = makeFixtureRepo(join(dir, 'shop'));
    folderUri = pathToFileURL(workspace).toString();
    const choice = await chooseLaunch(
      launchCandidates({
        command: process.env.RTK_LSP_COMMAND ?? '',
        pythonPath: process.env.RTK_LSP_PYTHON ?? '',
        trace: 'off',
      }),
      nodeProbeHost,
    );
    assert.ok(choice.found, `no server: ${choice.failures.map((f) => f.reason).join('; ')}`);
    process.stderr.write(`# server: ${describeCandidate(choice.found)}\n`);
    // Its own cache: the index and the plans it records stay out of the user's.
    const env = { ...process.env, RTK_LSP_CACHE_DIR: join(dir, 'cache') };
    proc = spawn(choice.found.command, choice.found.args, { cwd: workspace, env, stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    conn.onRequest('workspace/configuration', (params: { items: Array<{ section?: string }> }) => {
      configRequests.push(params);
      return params.items.map((item) => (item.section === 'rtk' ? settings : null));
    });
    conn.onRequest('window/workDoneProgress/create', (params: unknown) => {
      progressCreated.push(params);
      return null;
    });
    conn.onRequest('client/registerCapability', () => null);
    conn.onRequest('client/unregisterCapability', () => null);
    conn.onNotification(Methods.httpReady, (p: unknown) => {
      httpReady.push(p);
    });
    conn.onNotification(() => undefined);
    conn.listen();
    const init = await withTimeout(
      conn.sendRequest<{ capabilities: unknown; serverInfo?: { name: string } }>('initialize', {
        processId: process.pid,
        rootUri: folderUri,
        workspaceFolders: [{ uri: folderUri, name: 'shop' }],
        initializationOptions: settings,
        capabilities: {
          window: { workDoneProgress: true },
          workspace: { configuration: true, workspaceFolders: true, didChangeConfiguration: { dynamicRegistration: true } },
        },
      }),
      STEP_TIMEOUT_MS,
      'initialize',
    );
    assert.ok(init.capabilities, 'initialize returned capabilities');
    await conn.sendNotification('initialized', {});
  });

  after(async () => {
    try {
      if (conn) {
        await withTimeout(conn.sendRequest('shutdown'), 10_000, 'shutdown').catch(() => undefined);
        await conn.sendNotification('exit').catch(() => undefined);
      }
      if (proc && proc.exitCode === null) {
        await withTimeout(
          new Promise((resolve) => proc.once('exit', resolve)),
          10_000,
          'server exit',
        ).catch(() => proc.kill('SIGKILL'));
      }
    } finally {
      conn?.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  async function waitReady(): Promise<ServerStatus> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const status = parseStatus(await conn.sendRequest(Methods.status, {}));
      const summary = summarizeStatus(status);
      if (summary.kind === 'ready' || summary.kind === 'failed') {
        return status;
      }
      if (Date.now() > deadline) {
        throw new Error(`index still not ready: ${JSON.stringify(status)}\n${stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it('rtk/status describes the folder and reaches ready', async () => {
    const status = await waitReady();
    assert.ok(status.version, 'has a version');
    assert.equal(status.folders.length, 1);
    const [folder] = status.folders;
    assert.equal(folder.state, 'ready', `folder state ${folder.state}; stderr: ${stderr.slice(-2000)}`);
    assert.equal(folder.root.replace(/\/$/, ''), workspace);
    assert.ok(folder.files >= 5, `files = ${folder.files}`);
    assert.equal(summarizeStatus(status).kind, 'ready');
  });

  it('rtk/planContext puts the expected file first, with its symbol and a valid line range', async () => {
    await waitReady();
    const params = buildPlanParams({ task: TASK, budget: 4000, workspace: folderUri });
    const plan = parsePlan(await withTimeout(conn.sendRequest(Methods.planContext, params), STEP_TIMEOUT_MS, 'plan'));
    assert.equal(plan.task, TASK);
    assert.equal(plan.root.replace(/\/$/, ''), workspace);
    assert.ok(plan.selected.length > 0, 'selected some files');
    assert.equal(plan.selected[0].rel_path, EXPECTED_FILE, `ranking: ${plan.selected.map((f) => f.rel_path)}`);
    const names = plan.selected[0].symbols.map((s) => s.name);
    let found = 0;
    for (const short of EXPECTED_SYMBOLS) {
      const symbol = plan.selected[0].symbols.find((s) => symbolMatches(s.name, short));
      if (!symbol) {
        continue;
      }
      found++;
      const defLine = definitionLine(short);
      assert.ok(
        symbol.start_line <= defLine && defLine <= symbol.end_line,
        `${symbol.name} L${symbol.start_line}-${symbol.end_line} should contain line ${defLine}`,
      );
    }
    assert.ok(found > 0, `expected one of ${EXPECTED_SYMBOLS} among ${names}`);
    const fileLines = readFileSync(join(workspace, EXPECTED_FILE), 'utf8').split('\n').length;
    for (const s of plan.selected.flatMap((f) => f.symbols)) {
      assert.ok(s.start_line >= 1 && s.end_line >= s.start_line, `range of ${s.name}`);
    }
    for (const s of plan.selected[0].symbols) {
      assert.ok(s.end_line <= fileLines, `range of ${s.name} inside the file`);
    }
    assert.ok(plan.selected[0].estimated_tokens > 0, 'token estimate');
    assert.ok(plan.selected[0].reasons.length > 0, 'has reasons');
    assert.equal(plan.budget_report.token_budget, 4000);
    assert.ok(plan.budget_report.estimated_used <= 4000, 'within the budget');
    assert.ok(plan.context.includes(EXPECTED_FILE), 'the context text names the file');
    const selected = new Set(plan.selected.map((f) => f.rel_path));
    for (const f of notFitting(plan)) {
      assert.ok(!selected.has(f.rel_path), `${f.rel_path} is both selected and left out`);
    }
  });

  it('a tiny budget leaves ranked files out, and they are reported', async () => {
    const plan = parsePlan(
      await conn.sendRequest(Methods.planContext, buildPlanParams({ task: TASK, budget: 60, workspace: folderUri })),
    );
    assert.equal(plan.budget_report.token_budget, 60);
    assert.ok(plan.selected.length + notFitting(plan).length >= 1, 'something was ranked');
    assert.ok(notFitting(plan).length >= 1, 'some ranked file did not fit 60 tokens');
  });

  it('an empty task is InvalidParams naming the field', async () => {
    await assert.rejects(conn.sendRequest(Methods.planContext, { task: '' }), (error: unknown) => {
      assert.ok(error instanceof ResponseError);
      assert.equal(error.code, ErrorCodes.InvalidParams);
      assert.match(error.message, /task/);
      assert.equal(classifyPlanError(error).kind, 'invalidParams');
      return true;
    });
  });

  it('a setting change is pulled through workspace/configuration', async () => {
    settings = { ...settings, tokenBudget: 1500 };
    const before = configRequests.length;
    await conn.sendNotification('workspace/didChangeConfiguration', { settings: null });
    const deadline = Date.now() + 10_000;
    while (configRequests.length === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(configRequests.length > before, 'the server asked for the rtk section');
    await new Promise((r) => setTimeout(r, 200));
    const plan = parsePlan(await conn.sendRequest(Methods.planContext, buildPlanParams({ task: TASK, workspace: folderUri })));
    assert.equal(plan.budget_report.token_budget, 1500, 'the budget from the new settings');
  });

  it('rtk/status counts the plans served, for the quick view', async () => {
    await withTimeout(
      conn.sendRequest(Methods.planContext, buildPlanParams({ task: TASK, budget: 2000, workspace: folderUri })),
      STEP_TIMEOUT_MS,
      'plan',
    );
    const [folder] = (await waitReady()).folders;
    const episodes = folder.episodes;
    assert.ok(episodes, 'the server reports what it recorded');
    assert.equal(episodes.enabled, true);
    assert.equal(episodes.days, 7);
    assert.ok(episodes.gain && episodes.gain.plans >= 1, JSON.stringify(episodes));
    assert.equal(episodes.gain.field_recall, null, 'no outcome without an agent');
  });

  it('rtk/refresh returns the folder status entry', async () => {
    const folder = parseFolderStatus(await conn.sendRequest(Methods.refresh, { workspace: folderUri }));
    assert.equal(folder.root.replace(/\/$/, ''), workspace);
    assert.ok(['indexing', 'ready'].includes(folder.state));
    await waitReady();
  });

  it('announces the HTTP endpoint, and rtk/status reports it', async () => {
    const status = await waitReady();
    assert.ok(status.http, 'http endpoint in status');
    assert.match(status.http.url, /^http:\/\/127\.0\.0\.1:\d+/);
    assert.ok(httpReady.length >= 1, 'rtk/httpReady was sent');
    assert.equal((httpReady[0] as { url: string }).url, status.http.url);
  });
});
