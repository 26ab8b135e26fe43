import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as vscode from 'vscode';
import { MARKER, type Runner, venvDir, venvProgram } from '../../src/install';
import { RETRY, ServerInstaller, UPDATE, pythonCandidates } from '../../src/installCommand';
import type { ProbeHost } from '../../src/launch';
import { ServerManager } from '../../src/server';
import { FakeLanguageClient } from './fake-client';
import { folder, mock } from './vscode-mock';

const temps: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rtk-install-cmd-'));
  temps.push(d);
  return d;
}
afterEach(() => {
  for (const d of temps.splice(0)) {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function pythonExtension(exports: unknown): void {
  mock.extensions.set('ms-python.python', { isActive: false, exports: undefined, activate: async () => exports });
}

describe('pythonCandidates', () => {
  it("prefers the Python extension's selected interpreter, resolved to its executable", async () => {
    pythonExtension({
      environments: {
        getActiveEnvironmentPath: () => ({ path: '/home/u/.venvs/app' }),
        resolveEnvironment: async () => ({ executable: { uri: vscode.Uri.file('/home/u/.venvs/app/bin/python') } }),
      },
    });
    expect((await pythonCandidates()).map((c) => c.command)).toEqual(['/home/u/.venvs/app/bin/python', 'python3', 'python']);
  });

  it('reads the older execution-details API too', async () => {
    pythonExtension({ settings: { getExecutionDetails: () => ({ execCommand: ['/opt/py312/bin/python3'] }) } });
    const [first] = await pythonCandidates();
    expect(first).toEqual({ command: '/opt/py312/bin/python3', origin: "the Python extension's selected interpreter" });
  });

  it('falls back to python3 and python on PATH without the Python extension, or when it fails', async () => {
    expect((await pythonCandidates()).map((c) => c.command)).toEqual(['python3', 'python']);
    mock.extensions.set('ms-python.python', {
      isActive: false,
      exports: undefined,
      activate: async () => {
        throw new Error('activation failed');
      },
    });
    expect((await pythonCandidates()).map((c) => c.command)).toEqual(['python3', 'python']);
  });
});

/** A machine where python3 is 3.11 and venv and pip succeed, making the files they would make. */
function workingMachine(storage: string): Runner {
  const venv = venvDir(storage);
  return async (command, args) => {
    if (args[0] === '-c') {
      return { code: 0, output: '3.11\n' };
    }
    if (args[1] === 'venv') {
      fs.mkdirSync(path.dirname(venvProgram(venv, 'python')), { recursive: true });
      fs.writeFileSync(venvProgram(venv, 'python'), '');
      return { code: 0, output: '' };
    }
    if (args[1] === 'pip') {
      fs.writeFileSync(venvProgram(venv, 'rtk-lsp'), '', { mode: 0o755 });
      return { code: 0, output: 'Successfully installed rtk-lsp-0.1.0\n' };
    }
    if (command === venvProgram(venv, 'rtk-lsp')) {
      return { code: 0, output: 'rtk-lsp 0.1.0\n' };
    }
    return { code: null, output: `spawn ${command} ENOENT` };
  };
}

function setup(run: (storage: string) => Runner, wheels = ['rtk_lsp-0.1.0-py3-none-any.whl']) {
  const storage = path.join(tempDir(), 'storage');
  const extensionDir = tempDir();
  fs.mkdirSync(path.join(extensionDir, 'server'));
  for (const w of wheels) {
    fs.writeFileSync(path.join(extensionDir, 'server', w), '');
  }
  (vscode.workspace as { workspaceFolders?: unknown }).workspaceFolders = [folder('/w/shop')];
  const output = vscode.window.createOutputChannel('RTK', { log: true }) as unknown as vscode.LogOutputChannel;
  // The probe finds only what exists on disk: the private install once it is made.
  const host: ProbeHost = { which: (c) => (fs.existsSync(c) ? c : undefined), run: async () => ({ code: 0, stderr: '' }) };
  const managed = () => {
    const marker = path.join(venvDir(storage), MARKER);
    return fs.existsSync(marker) ? venvProgram(venvDir(storage), 'rtk-lsp') : undefined;
  };
  const server = new ServerManager(output, host, (s, c) => new FakeLanguageClient(s, c) as never, managed);
  const installer = new ServerInstaller(storage, extensionDir, server, output, run(storage));
  return { storage, extensionDir, server, installer };
}

describe('ServerInstaller', () => {
  it('installs with progress, says so, and starts the server from the private environment', async () => {
    const { storage, server, installer } = setup((s) => workingMachine(s));
    await server.start();
    expect(server.state).toBe('failed');
    await installer.install();
    expect(mock.progress).toContainEqual({ location: vscode.ProgressLocation.Notification, title: 'RTK: Installing rtk-lsp' });
    expect(mock.messages.at(-1)).toEqual({
      level: 'info',
      text: 'RTK: rtk-lsp installed (rtk_lsp-0.1.0-py3-none-any.whl). Starting the server.',
      items: [],
    });
    expect(server.state).toBe('running');
    expect(server.launch).toEqual({ source: 'managed', command: venvProgram(venvDir(storage), 'rtk-lsp'), args: ['lsp'] });
    expect(installer.installed?.wheel).toBe('rtk_lsp-0.1.0-py3-none-any.whl');
  });

  it('joins an install that is already running instead of starting a second one', async () => {
    let pythonChecks = 0;
    const { installer } = setup((s) => {
      const real = workingMachine(s);
      return async (command: string, args: string[], onLine: (line: string) => void) => {
        pythonChecks += args[0] === '-c' ? 1 : 0;
        return real(command, args, onLine);
      };
    });
    await Promise.all([installer.install(), installer.install()]);
    expect(pythonChecks).toBe(1);
  });

  it('reports a failure with what to do, and offers to try again', async () => {
    const { installer, server } = setup(() => async () => ({ code: 0, output: '3.9\n' }));
    mock.messageAnswers.push(RETRY);
    await installer.install();
    const error = mock.messages.find((m) => m.level === 'error');
    expect(error?.text).toMatch(/^RTK: could not install rtk-lsp: no Python 3\.11 or later was found: .*is Python 3\.9.* Install Python 3\.11\+/);
    expect(error?.items).toEqual([RETRY, 'Show Log']);
    expect(server.state).not.toBe('running');
    expect(mock.outputLines.some((l) => l.startsWith('[error] RTK: could not install rtk-lsp'))).toBe(true);
    // "Try Again" runs the install again (which fails the same way; the second message goes unanswered).
    await vi.waitFor(() => expect(mock.messages.filter((m) => m.level === 'error')).toHaveLength(2));
  });

  it('offers an update once when the extension carries a newer wheel than the one installed', async () => {
    const { installer, server, storage, extensionDir } = setup((s) => workingMachine(s));
    await installer.install();
    fs.writeFileSync(path.join(venvDir(storage), MARKER), 'rtk_lsp-0.0.9-py3-none-any.whl\n');
    expect(server.launch?.source).toBe('managed');
    installer.checkForUpdate();
    installer.checkForUpdate();
    const offers = mock.messages.filter((m) => m.items.includes(UPDATE));
    expect(offers).toHaveLength(1);
    expect(offers[0].text).toBe(
      'RTK: this version of the extension comes with rtk_lsp-0.1.0-py3-none-any.whl; the server in use is rtk_lsp-0.0.9-py3-none-any.whl.',
    );
    expect(fs.existsSync(path.join(extensionDir, 'server'))).toBe(true);
  });
});
