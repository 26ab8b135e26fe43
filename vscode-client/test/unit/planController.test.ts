import { describe, expect, it } from 'vitest';
import * as vscode from 'vscode';
import { PlanController, budgetTarget, chooseFolder, parseBudgetInput } from '../../src/planController';
import { PlanTreeProvider } from '../../src/planTree';
import { RecentTasks } from '../../src/recent';
import { ServerNotRunningError } from '../../src/server';
import { ROOT, samplePlan } from './fixtures';
import { folder, mock } from './vscode-mock';

class FakeServer {
  calls: Array<{ method: string; params: any; token?: vscode.CancellationToken }> = [];
  answer: (method: string, params: any, token?: vscode.CancellationToken) => Promise<unknown> = async () => samplePlan();
  request<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R> {
    this.calls.push({ method, params, token });
    return this.answer(method, params, token) as Promise<R>;
  }
}

function memento() {
  const data = new Map<string, unknown>();
  return { get: <T>(k: string) => data.get(k) as T | undefined, update: async (k: string, v: unknown) => void data.set(k, v) };
}

function setup(folders: string[] = [ROOT]) {
  (vscode.workspace as { workspaceFolders?: unknown }).workspaceFolders = folders.map((p, i) => folder(p, i));
  const server = new FakeServer();
  const tree = new PlanTreeProvider();
  const output = vscode.window.createOutputChannel('RTK', { log: true }) as unknown as vscode.LogOutputChannel;
  const view = { message: undefined as string | undefined } as vscode.TreeView<unknown>;
  const recent = new RecentTasks(memento());
  const controller = new PlanController(server, tree, recent, output, view);
  return { server, tree, controller, view, recent };
}

const TASK = 'fix the discount rounding in InvoiceCalculator.apply_discount';

describe('planning', () => {
  it('asks for the task, sends it with the budget and folder, and shows the plan', async () => {
    const { server, tree, controller, view, recent } = setup();
    mock.config['rtk.tokenBudget'] = 3000;
    mock.taskAnswers.push(`  ${TASK} `);
    await controller.planCommand();
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0].method).toBe('rtk/planContext');
    expect(server.calls[0].params).toEqual({ task: TASK, budget: 3000, workspace: vscode.Uri.file(ROOT).toString() });
    expect(tree.state.kind).toBe('plan');
    expect(tree.getTreeItem(tree.getChildren()[0]).label).toBe('src/billing/invoice.py');
    expect(view.message).toMatch(/^2 files · 1,612 \/ 4,000 tokens/);
    expect(mock.progress).toEqual([expect.objectContaining({ cancellable: true, location: vscode.ProgressLocation.Notification })]);
    expect(mock.executed).toContainEqual({ command: 'setContext', args: ['rtk.hasPlan', true] });
    expect(recent.list()).toEqual([TASK]);
  });

  it('passes the active document when it belongs to the folder', async () => {
    const { server, controller } = setup();
    vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file(`${ROOT}/src/app.py`) } } as never;
    await controller.planCommand(TASK);
    expect(server.calls[0].params.uri).toBe(vscode.Uri.file(`${ROOT}/src/app.py`).toString());
  });

  it('does nothing when the task prompt is dismissed', async () => {
    const { server, controller } = setup();
    mock.taskAnswers.push(undefined);
    await controller.planCommand();
    expect(server.calls).toHaveLength(0);
  });

  it('remembers recent tasks, most recent first, without duplicates', async () => {
    const { controller, recent } = setup();
    await controller.planCommand('a');
    await controller.planCommand('b');
    await controller.planCommand('a');
    expect(recent.list()).toEqual(['a', 'b']);
  });

  it('re-runs the last task with the current budget', async () => {
    const { server, controller } = setup();
    await controller.planCommand(TASK);
    mock.config['rtk.tokenBudget'] = 9000;
    await controller.rerun();
    expect(server.calls.map((c) => c.params.budget)).toEqual([4000, 9000]);
    expect(server.calls[1].params.task).toBe(TASK);
  });
});

describe('multi-root', () => {
  it('uses the folder of the active editor', async () => {
    const { server, controller } = setup(['/w/a', '/w/b']);
    vscode.window.activeTextEditor = { document: { uri: vscode.Uri.file('/w/b/x.py') } } as never;
    await controller.planCommand(TASK);
    expect(server.calls[0].params.workspace).toBe(vscode.Uri.file('/w/b').toString());
  });

  it('asks which folder when ambiguous, and stops if the question is dismissed', async () => {
    setup(['/w/a', '/w/b']);
    mock.folderPickAnswers.push(folder('/w/b', 1), undefined);
    expect(await chooseFolder()).toMatchObject({ kind: 'folder', folder: { name: 'b' } });
    expect(await chooseFolder()).toEqual({ kind: 'cancelled' });
  });

  it('says so when no folder is open', async () => {
    const { server, tree, controller } = setup([]);
    await controller.planCommand(TASK);
    expect(server.calls).toHaveLength(0);
    expect(tree.state.kind).toBe('noWorkspace');
    expect(mock.messages[0].text).toMatch(/open a folder/);
  });
});

describe('error states', () => {
  it('server not running: tree explains, message offers restart and settings', async () => {
    const { server, tree, controller } = setup();
    server.answer = async () => {
      throw new ServerNotRunningError('failed', 'rtk-lsp was not found on PATH');
    };
    mock.messageAnswers.push('Restart Server');
    await controller.planCommand(TASK);
    expect(tree.state).toEqual({ kind: 'serverNotRunning', detail: 'rtk-lsp was not found on PATH' });
    expect(mock.messages[0]).toMatchObject({ level: 'error', items: ['Restart Server', 'Open Settings', 'Show Log'] });
    await new Promise((r) => setTimeout(r, 0));
    expect(mock.executed.map((e) => e.command)).toContain('rtk.restartServer');
  });

  it('index still building: tree says to retry later', async () => {
    const { server, tree, controller } = setup();
    server.answer = async () => {
      throw { code: -32603, message: 'rtk-fixture is still indexing (3 of ~5 files)' };
    };
    await controller.planCommand(TASK);
    expect(tree.state).toMatchObject({ kind: 'indexing', folder: 'rtk-fixture' });
    expect(mock.messages[0]).toMatchObject({ level: 'warning' });
    expect(mock.messages[0].text).toMatch(/still being indexed/);
  });

  it('request failed: tree shows the server message', async () => {
    const { server, tree, controller, view } = setup();
    server.answer = async () => {
      throw { code: -32603, message: 'KeyError: rel_path' };
    };
    await controller.planCommand(TASK);
    expect(tree.state).toEqual({ kind: 'error', task: TASK, message: 'KeyError: rel_path', invalidParams: false });
    expect(mock.messages[0].text).toBe('RTK: the plan request failed: KeyError: rel_path');
    expect(view.message).toBeUndefined();
  });

  it('invalid params are named as rejected', async () => {
    const { server, tree, controller } = setup();
    server.answer = async () => {
      throw { code: -32602, message: 'budget: must be positive' };
    };
    await controller.planCommand(TASK);
    expect(tree.state).toMatchObject({ kind: 'error', invalidParams: true });
  });

  it('cancelling the progress cancels the request', async () => {
    const { server, tree, controller } = setup();
    server.answer = (_m, _p, token) =>
      new Promise((_resolve, reject) => {
        token?.onCancellationRequested(() => reject({ code: -32800, message: 'Request cancelled' }));
      });
    mock.cancelNextProgress = true;
    await controller.planCommand(TASK);
    expect(server.calls[0].token?.isCancellationRequested).toBe(true);
    expect(tree.state).toEqual({ kind: 'cancelled', task: TASK });
    expect(mock.messages).toHaveLength(0);
  });

  it('a reply that is not a plan is a failed request', async () => {
    const { server, tree, controller } = setup();
    server.answer = async () => null;
    await controller.planCommand(TASK);
    expect(tree.state).toMatchObject({ kind: 'error', message: 'The server returned no plan.' });
  });
});

describe('title bar actions', () => {
  it('copies the plan context to the clipboard', async () => {
    const { controller } = setup();
    await controller.copyContext();
    expect(mock.messages[0].text).toMatch(/no plan yet/);
    await controller.planCommand(TASK);
    await controller.copyContext();
    expect(mock.clipboard).toBe(samplePlan().context);
  });

  it('opens the plan as a Markdown document', async () => {
    const { controller } = setup();
    await controller.planCommand(TASK);
    await controller.openMarkdown();
    const doc = mock.openedDocuments.at(-1);
    expect(doc?.language).toBe('markdown');
    expect(doc?.content).toContain(`# Context plan: ${TASK}`);
    expect(doc?.content).toContain('| 1 | `src/billing/invoice.py` | 0.91 | 412 |');
    expect(doc?.content).toContain('- `apply_discount` (method, lines 12–20)');
    expect(doc?.content).toContain('## Did not fit the budget');
    expect(doc?.content).toContain('class InvoiceCalculator: ...');
  });

  it('changes the budget with a quick pick and re-runs the plan', async () => {
    const { server, controller } = setup();
    await controller.planCommand(TASK);
    mock.quickPickAnswers.push((items) => items.find((i: { value?: number }) => i.value === 16000));
    await controller.changeBudget();
    expect(mock.configUpdates).toEqual([
      { key: 'rtk.tokenBudget', value: 16000, target: vscode.ConfigurationTarget.Workspace, scope: vscode.Uri.file(ROOT).toString() },
    ]);
    expect(server.calls.map((c) => c.params.budget)).toEqual([4000, 16000]);
  });

  it('accepts a custom budget and validates it', async () => {
    const { controller } = setup();
    mock.quickPickAnswers.push((items) => items.at(-1));
    mock.inputBoxAnswers.push('12,500');
    expect(await controller.pickBudget()).toBe(12500);
    mock.quickPickAnswers.push((items) => items.at(-1));
    mock.inputBoxAnswers.push('lots');
    expect(await controller.pickBudget()).toBeUndefined();
    expect(parseBudgetInput('0')).toBeUndefined();
    expect(budgetTarget({ workspaceFolderValue: 5 }, true)).toBe(vscode.ConfigurationTarget.WorkspaceFolder);
    expect(budgetTarget(undefined, false)).toBe(vscode.ConfigurationTarget.Global);
  });

  it('opens a symbol at its 1-based inclusive line range', async () => {
    const { controller } = setup();
    const file = `${ROOT}/src/billing/invoice.py`;
    mock.documents.set(file, Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n'));
    await controller.openLocation(file, { start: 12, end: 20 });
    const shown = mock.shown.at(-1);
    expect(shown?.uri?.fsPath).toBe(file);
    const sel = shown?.selection as vscode.Selection;
    expect([sel.anchor.line, sel.anchor.character, sel.active.line, sel.active.character]).toEqual([19, 7, 11, 0]);
    await controller.openLocation(file);
    expect(mock.shown.at(-1)?.selection).toBeUndefined();
    await controller.openLocation(`${ROOT}/missing.py`, { start: 1, end: 1 });
    expect(mock.messages.at(-1)?.text).toMatch(/cannot open .*missing.py/);
  });
});
