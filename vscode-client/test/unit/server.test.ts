import { afterEach, describe, expect, it, vi } from 'vitest';
import * as vscode from 'vscode';
import type { ProbeHost } from '../../src/launch';
import { INSTALL, OPEN_SETTINGS, ServerManager, ServerNotRunningError } from '../../src/server';
import { FakeLanguageClient } from './fake-client';
import { folder, mock } from './vscode-mock';

const onPath: ProbeHost = { which: (c) => (c === 'rtk-lsp' ? '/usr/bin/rtk-lsp' : undefined), run: async () => ({ code: 0, stderr: '' }) };
const nothing: ProbeHost = { which: () => undefined, run: async () => ({ code: 1, stderr: '' }) };

function manager(host: ProbeHost = onPath): ServerManager {
  const output = vscode.window.createOutputChannel('RTK', { log: true }) as unknown as vscode.LogOutputChannel;
  return new ServerManager(output, host, (s, c) => new FakeLanguageClient(s, c) as never);
}

function open(...paths: string[]): void {
  (vscode.workspace as { workspaceFolders?: unknown }).workspaceFolders = paths.map((p, i) => folder(p, i));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ServerManager', () => {
  it('does not start without a folder', async () => {
    const m = manager();
    await m.start();
    expect(m.state).toBe('noWorkspace');
    expect(FakeLanguageClient.instances).toHaveLength(0);
    await expect(m.request('rtk/status', {})).rejects.toBeInstanceOf(ServerNotRunningError);
  });

  it('starts `rtk-lsp lsp` over stdio with the settings as initialization options', async () => {
    open('/w/shop');
    mock.config['rtk.tokenBudget'] = 6000;
    mock.config['rtk.exclude'] = ['**/gen/**'];
    mock.config['rtk.http.enabled'] = false;
    const m = manager();
    const states: string[] = [];
    m.onDidChangeState((s) => states.push(s));
    await m.start();
    expect(m.state).toBe('running');
    expect(states).toEqual(['starting', 'running']);
    const [client] = FakeLanguageClient.instances;
    expect(client.serverOptions).toMatchObject({ command: '/usr/bin/rtk-lsp', args: ['lsp'] });
    // TransportKind.stdio would make the client append --stdio, which `rtk-lsp lsp` rejects.
    expect(client.serverOptions.transport).toBeUndefined();
    expect(client.serverOptions.options.cwd).toBe('/w/shop');
    expect(client.clientOptions.initializationOptions).toEqual({
      tokenBudget: 6000,
      exclude: ['**/gen/**'],
      maxFileSize: 1048576,
      historyDepth: 5000,
      planTimeout: 30,
      http: { enabled: false, port: 0 },
      episodes: { enabled: true, keepTasks: false },
    });
    expect(client.clientOptions.synchronize).toEqual({ configurationSection: 'rtk' });
    expect(mock.executed).toContainEqual({ command: 'setContext', args: ['rtk.serverState', 'running'] });
  });

  it('answers workspace/configuration for "rtk" with the server-shaped section', async () => {
    open('/w/shop');
    mock.config['rtk.tokenBudget'] = 1234;
    mock.folderConfig[vscode.Uri.file('/w/shop').toString()] = { 'rtk.tokenBudget': 999 };
    const m = manager();
    await m.start();
    const middleware = FakeLanguageClient.instances[0].clientOptions.middleware.workspace.configuration;
    const next = async () => [{ raw: true }, 'other'];
    const result = await middleware(
      { items: [{ section: 'rtk', scopeUri: vscode.Uri.file('/w/shop').toString() }, { section: 'editor' }] },
      {},
      next,
    );
    expect(result[0]).toMatchObject({ tokenBudget: 999, http: { enabled: false, port: 0 } });
    expect(result[1]).toBe('other');
  });

  it('fails with one clear message and a button that opens the setting', async () => {
    open('/w/shop');
    mock.messageAnswers.push(OPEN_SETTINGS);
    const m = manager(nothing);
    await m.start();
    expect(m.state).toBe('failed');
    expect(FakeLanguageClient.instances).toHaveLength(0);
    expect(mock.messages).toHaveLength(1);
    const [msg] = mock.messages;
    expect(msg.level).toBe('error');
    expect(msg.text).not.toMatch(/pip install/);
    expect(msg.text).toMatch(/"Install rtk-lsp" sets up a private copy/);
    expect(msg.text).toMatch(/rtk\.server\.pythonPath/);
    expect(msg.items).toEqual(['Install rtk-lsp', 'Open Settings', 'Show Log']);
    await new Promise((r) => setTimeout(r, 0));
    expect(mock.executed).toContainEqual({ command: 'workbench.action.openSettings', args: ['rtk.server'] });
    await expect(m.request('rtk/status', {})).rejects.toThrow(/not running: RTK: cannot start/);
  });

  it('offers the install when no server is found, and runs it on request', async () => {
    open('/w/shop');
    mock.messageAnswers.push(INSTALL);
    const m = manager(nothing);
    await m.start();
    await new Promise((r) => setTimeout(r, 0));
    expect(mock.executed).toContainEqual({ command: 'rtk.installServer', args: [] });
  });

  it('starts the private install when nothing else is found, after rtk-lsp on PATH', async () => {
    open('/w/shop');
    const managed = '/storage/venv/bin/rtk-lsp';
    const host: ProbeHost = { which: (c) => (c === managed ? managed : undefined), run: async () => ({ code: 0, stderr: '' }) };
    const output = vscode.window.createOutputChannel('RTK', { log: true }) as unknown as vscode.LogOutputChannel;
    const m = new ServerManager(output, host, (s, c) => new FakeLanguageClient(s, c) as never, () => managed);
    await m.start();
    expect(m.state).toBe('running');
    expect(m.launch).toEqual({ source: 'managed', command: managed, args: ['lsp'] });
    expect(mock.outputLines.join('\n')).toContain(`rtk-lsp lsp | ${managed} lsp`);
  });

  it('reports a server that exits during start', async () => {
    open('/w/shop');
    FakeLanguageClient.startError = new Error('Server initialization failed.');
    const m = manager();
    await m.start();
    expect(m.state).toBe('failed');
    expect(mock.messages[0].text).toMatch(/`\/usr\/bin\/rtk-lsp lsp` failed to start: Server initialization failed/);
  });

  it('debounces restarts: a burst of changes restarts once', async () => {
    vi.useFakeTimers();
    open('/w/shop');
    const m = manager();
    await m.start();
    m.scheduleRestart();
    await vi.advanceTimersByTimeAsync(400);
    m.scheduleRestart();
    await vi.advanceTimersByTimeAsync(400);
    m.scheduleRestart();
    expect(FakeLanguageClient.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1100);
    expect(FakeLanguageClient.instances).toHaveLength(2);
    expect(FakeLanguageClient.instances[0].stopped).toBe(true);
    expect(m.state).toBe('running');
  });

  it('keeps notification handlers across restarts', async () => {
    open('/w/shop');
    const m = manager();
    const seen: unknown[] = [];
    m.onNotification('rtk/httpReady', (p) => seen.push(p));
    await m.start();
    await m.restart();
    FakeLanguageClient.instances[1].notifications.get('rtk/httpReady')?.({ url: 'http://127.0.0.1:1', port: 1 });
    expect(seen).toEqual([{ url: 'http://127.0.0.1:1', port: 1 }]);
  });

  it('restarts a crashed server a few times, then reports it once', async () => {
    open('/w/shop');
    const m = manager();
    await m.start();
    const closed = FakeLanguageClient.instances[0].clientOptions.errorHandler.closed;
    expect([closed(), closed(), closed()].map((r: { action: number }) => r.action)).toEqual([2, 2, 2]);
    expect(mock.messages).toHaveLength(0);
    expect(closed()).toEqual({ action: 1, handled: true });
    expect(m.state).toBe('failed');
    expect(mock.messages).toHaveLength(1);
    expect(mock.messages[0].text).toMatch(/exited 4 times/);
  });

  it('does not restart a server that never got running', async () => {
    open('/w/shop');
    FakeLanguageClient.startError = new Error('exited with code 1');
    const m = manager();
    await m.start();
    const closed = FakeLanguageClient.instances[0].clientOptions.errorHandler.closed;
    expect(closed()).toEqual({ action: 1, handled: true });
    expect(mock.messages).toHaveLength(1);
  });
});
