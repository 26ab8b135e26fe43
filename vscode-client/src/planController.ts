/** The plan commands: ask for a task, run `rtk/planContext`, and act on the result. */
import * as vscode from 'vscode';
import { planToMarkdown } from './markdown';
import { type LineRange, type PlanTreeProvider, planSummary } from './planTree';
import { Methods, type Plan, buildPlanParams, classifyPlanError, parsePlan } from './protocol';
import type { RecentTasks } from './recent';
import { ServerNotRunningError } from './server';
import { BUDGET_PRESETS, DEFAULTS } from './settings';

/** What the controller needs from the server manager. */
export interface Requester {
  request<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R>;
}

export interface PlanRun {
  task: string;
  folder: vscode.WorkspaceFolder;
  /** The active document, when it belongs to the folder. */
  uri?: string;
}

export type FolderChoice =
  | { kind: 'folder'; folder: vscode.WorkspaceFolder }
  | { kind: 'noWorkspace' }
  | { kind: 'cancelled' };

/** The folder of the active editor; the only folder; or the one the user picks. */
export async function chooseFolder(): Promise<FolderChoice> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    return { kind: 'noWorkspace' };
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active) {
    const folder = vscode.workspace.getWorkspaceFolder(active);
    if (folder) {
      return { kind: 'folder', folder };
    }
  }
  if (folders.length === 1) {
    return { kind: 'folder', folder: folders[0] };
  }
  const picked = await vscode.window.showWorkspaceFolderPick({
    placeHolder: 'Which folder should RTK plan the context for?',
    ignoreFocusOut: true,
  });
  return picked ? { kind: 'folder', folder: picked } : { kind: 'cancelled' };
}

/** The token budget for a folder (`rtk.tokenBudget`). */
export function budgetFor(folder?: vscode.WorkspaceFolder): number {
  const value = vscode.workspace.getConfiguration('rtk', folder?.uri).get<number>('tokenBudget');
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : DEFAULTS.tokenBudget;
}

/** Where a budget change is written: where the current value comes from, else the workspace. */
export function budgetTarget(
  inspect: { workspaceFolderValue?: unknown; workspaceValue?: unknown } | undefined,
  hasWorkspace: boolean,
): vscode.ConfigurationTarget {
  if (inspect?.workspaceFolderValue !== undefined) {
    return vscode.ConfigurationTarget.WorkspaceFolder;
  }
  return hasWorkspace ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
}

export function parseBudgetInput(value: string): number | undefined {
  const v = value.trim().replace(/[,_\s]/g, '');
  if (!/^\d+$/.test(v)) {
    return undefined;
  }
  const n = Number(v);
  return n > 0 && Number.isSafeInteger(n) ? n : undefined;
}

interface TaskItem extends vscode.QuickPickItem {
  task?: string;
}

export class PlanController implements vscode.Disposable {
  private plan: Plan | undefined;
  private lastRun: PlanRun | undefined;
  private cts: vscode.CancellationTokenSource | undefined;

  constructor(
    private readonly server: Requester,
    private readonly tree: PlanTreeProvider,
    private readonly recent: RecentTasks,
    private readonly output: vscode.LogOutputChannel,
    private readonly view?: vscode.TreeView<unknown>,
  ) {}

  get currentPlan(): Plan | undefined {
    return this.plan;
  }

  private setPlan(plan: Plan | undefined): void {
    this.plan = plan;
    void vscode.commands.executeCommand('setContext', 'rtk.hasPlan', plan !== undefined);
    if (this.view) {
      this.view.message = plan ? planSummary(plan) : undefined;
    }
  }

  /** `RTK: Plan Context for Task…`. A task passed as argument skips the prompt. */
  async planCommand(taskArg?: unknown): Promise<void> {
    const choice = await chooseFolder();
    if (choice.kind === 'noWorkspace') {
      this.setPlan(undefined);
      this.tree.setState({ kind: 'noWorkspace' });
      void vscode.window.showWarningMessage('RTK: open a folder first; the plan is made from its files.');
      return;
    }
    if (choice.kind === 'cancelled') {
      return;
    }
    const folder = choice.folder;
    const task = typeof taskArg === 'string' && taskArg.trim() ? taskArg.trim() : await this.askTask(folder);
    if (!task) {
      return;
    }
    const active = vscode.window.activeTextEditor?.document.uri;
    const uri =
      active && active.scheme === 'file' && vscode.workspace.getWorkspaceFolder(active)?.uri.toString() ===
        folder.uri.toString()
        ? active.toString()
        : undefined;
    await this.recent.add(task);
    await this.run({ task, folder, uri });
  }

  private askTask(folder: vscode.WorkspaceFolder): Promise<string | undefined> {
    const qp = vscode.window.createQuickPick<TaskItem>();
    const recent: TaskItem[] = this.recent.list().map((t) => ({ label: t, description: 'recent', task: t }));
    const setTitle = () => {
      qp.title = `RTK: Plan Context for Task (budget ${budgetFor(folder).toLocaleString('en-US')} tokens)`;
    };
    setTitle();
    qp.placeholder = 'Describe the task, e.g. "fix the rounding in InvoiceCalculator.apply_discount"';
    qp.ignoreFocusOut = true;
    qp.buttons = [{ iconPath: new vscode.ThemeIcon('dashboard'), tooltip: 'Change the token budget' }];
    const update = () => {
      const value = qp.value.trim();
      qp.items = value
        ? [{ label: value, description: 'plan this task', alwaysShow: true, task: value }, ...recent.filter((r) => r.task !== value)]
        : recent;
    };
    update();
    return new Promise<string | undefined>((resolve) => {
      let done = false;
      let pausing = false;
      const disposables: vscode.Disposable[] = [];
      const finish = (task: string | undefined) => {
        if (done) {
          return;
        }
        done = true;
        for (const d of disposables) {
          d.dispose();
        }
        qp.dispose();
        resolve(task);
      };
      disposables.push(
        qp.onDidChangeValue(update),
        qp.onDidAccept(() => {
          const item = qp.selectedItems[0] ?? qp.activeItems[0];
          const task = item?.task ?? qp.value.trim();
          if (task) {
            finish(task);
          }
        }),
        qp.onDidTriggerButton(async () => {
          pausing = true;
          const value = qp.value;
          qp.hide();
          await this.pickBudget(folder);
          pausing = false;
          setTitle();
          qp.value = value;
          update();
          qp.show();
        }),
        qp.onDidHide(() => {
          if (!pausing) {
            finish(undefined);
          }
        }),
      );
      qp.show();
    });
  }

  /** Runs a plan with progress and cancellation, and shows the outcome in the tree. */
  async run(run: PlanRun): Promise<void> {
    this.cts?.cancel();
    const cts = new vscode.CancellationTokenSource();
    this.cts = cts;
    this.lastRun = run;
    const budget = budgetFor(run.folder);
    const params = buildPlanParams({ task: run.task, budget, workspace: run.folder.uri.toString(), uri: run.uri });
    this.setPlan(undefined);
    this.tree.setState({ kind: 'planning', task: run.task });
    void vscode.commands.executeCommand('setContext', 'rtk.planning', true);
    const started = Date.now();
    try {
      const result = await vscode.window.withProgress(
        {
          location: vscode.ProgressLocation.Notification,
          title: `RTK: planning the context for “${run.task}”`,
          cancellable: true,
        },
        (_progress, token) => {
          token.onCancellationRequested(() => cts.cancel());
          return this.server.request<unknown>(Methods.planContext, params, cts.token);
        },
      );
      if (this.cts !== cts) {
        return;
      }
      if (cts.token.isCancellationRequested) {
        this.tree.setState({ kind: 'cancelled', task: run.task });
        return;
      }
      const plan = parsePlan(result);
      this.output.info(
        `Plan for “${run.task}” in ${run.folder.name}: ${plan.selected.length} files, ` +
          `${plan.budget_report.estimated_used}/${plan.budget_report.token_budget} tokens, ${Date.now() - started} ms`,
      );
      this.setPlan(plan);
      this.tree.setState({ kind: 'plan', plan });
      void vscode.commands.executeCommand('rtk.plan.focus');
    } catch (error) {
      if (this.cts !== cts) {
        return;
      }
      this.showError(error, run);
    } finally {
      if (this.cts === cts) {
        this.cts = undefined;
        void vscode.commands.executeCommand('setContext', 'rtk.planning', false);
      }
      cts.dispose();
    }
  }

  private showError(error: unknown, run: PlanRun): void {
    if (error instanceof ServerNotRunningError) {
      if (error.state === 'noWorkspace') {
        this.tree.setState({ kind: 'noWorkspace' });
        return;
      }
      this.tree.setState({ kind: 'serverNotRunning', detail: error.detail });
      void vscode.window
        .showErrorMessage(`RTK: ${error.message}`, 'Restart Server', 'Open Settings', 'Show Log')
        .then((choice) => {
          if (choice === 'Restart Server') {
            void vscode.commands.executeCommand('rtk.restartServer');
          } else if (choice === 'Open Settings') {
            void vscode.commands.executeCommand('rtk.openServerSettings');
          } else if (choice === 'Show Log') {
            this.output.show(true);
          }
        });
      return;
    }
    const e = classifyPlanError(error);
    this.output.warn(`Plan for “${run.task}” failed (${e.kind}): ${e.message}`);
    switch (e.kind) {
      case 'cancelled':
        this.tree.setState({ kind: 'cancelled', task: run.task });
        return;
      case 'indexing':
        this.tree.setState({ kind: 'indexing', folder: run.folder.name, message: e.message });
        void vscode.window.showWarningMessage(
          `RTK: ${run.folder.name} is still being indexed. Try again when the status bar shows "RTK: N files".`,
        );
        return;
      default:
        this.tree.setState({ kind: 'error', task: run.task, message: e.message, invalidParams: e.kind === 'invalidParams' });
        void vscode.window.showErrorMessage(`RTK: the plan request failed: ${e.message}`, 'Show Log').then((c) => {
          if (c === 'Show Log') {
            this.output.show(true);
          }
        });
    }
  }

  /** Re-runs the last task (title bar "re-run"). */
  async rerun(): Promise<void> {
    if (!this.lastRun) {
      await this.planCommand();
      return;
    }
    const folder = (vscode.workspace.workspaceFolders ?? []).find(
      (f) => f.uri.toString() === this.lastRun?.folder.uri.toString(),
    );
    await this.run({ ...this.lastRun, folder: folder ?? this.lastRun.folder });
  }

  /** Quick pick of budgets; writes `rtk.tokenBudget`. Returns the new budget, if changed. */
  async pickBudget(folder?: vscode.WorkspaceFolder): Promise<number | undefined> {
    const current = budgetFor(folder);
    const presets = [...new Set([...BUDGET_PRESETS, current])].sort((a, b) => a - b);
    const items: Array<vscode.QuickPickItem & { value?: number }> = presets.map((n) => ({
      label: `${n.toLocaleString('en-US')} tokens`,
      description: n === current ? 'current' : undefined,
      value: n,
    }));
    items.push({ label: 'Custom…', description: 'type a number of tokens' });
    const picked = await vscode.window.showQuickPick(items, {
      title: 'RTK: Token Budget',
      placeHolder: `The plan's token budget (now ${current.toLocaleString('en-US')})`,
    });
    if (!picked) {
      return undefined;
    }
    let value = picked.value;
    if (value === undefined) {
      const typed = await vscode.window.showInputBox({
        title: 'RTK: Token Budget',
        prompt: 'Tokens the plan may use',
        value: String(current),
        validateInput: (v) => (parseBudgetInput(v) === undefined ? 'Enter a positive whole number of tokens.' : undefined),
      });
      value = typed === undefined ? undefined : parseBudgetInput(typed);
    }
    if (value === undefined || value === current) {
      return undefined;
    }
    const config = vscode.workspace.getConfiguration('rtk', folder?.uri);
    const target = budgetTarget(config.inspect('tokenBudget'), (vscode.workspace.workspaceFolders ?? []).length > 0);
    await config.update('tokenBudget', value, target);
    this.output.info(`Token budget set to ${value}`);
    return value;
  }

  /** Title bar "change budget": pick a budget, then re-run the plan shown. */
  async changeBudget(): Promise<void> {
    const changed = await this.pickBudget(this.lastRun?.folder ?? vscode.workspace.workspaceFolders?.[0]);
    if (changed !== undefined && this.lastRun) {
      await this.rerun();
    }
  }

  async copyContext(): Promise<void> {
    if (!this.plan) {
      void vscode.window.showInformationMessage('RTK: no plan yet. Run "RTK: Plan Context for Task…" first.');
      return;
    }
    await vscode.env.clipboard.writeText(this.plan.context);
    void vscode.window.showInformationMessage(
      `RTK: copied the context (${this.plan.selected.length} files, about ${Math.round(
        this.plan.budget_report.estimated_used,
      )} tokens) to the clipboard.`,
    );
  }

  async openMarkdown(): Promise<void> {
    if (!this.plan) {
      void vscode.window.showInformationMessage('RTK: no plan yet. Run "RTK: Plan Context for Task…" first.');
      return;
    }
    const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: planToMarkdown(this.plan) });
    await vscode.window.showTextDocument(doc, { preview: false });
  }

  /** Opens a file, selecting a 1-based inclusive line range if given. */
  async openLocation(target: unknown, range?: LineRange): Promise<void> {
    const uri = target instanceof vscode.Uri ? target : vscode.Uri.file(String(target));
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      let selection: vscode.Range | undefined;
      if (range && doc.lineCount > 0) {
        const start = Math.min(doc.lineCount - 1, Math.max(0, range.start - 1));
        const end = Math.min(doc.lineCount - 1, Math.max(start, range.end - 1));
        selection = new vscode.Range(start, 0, end, doc.lineAt(end).text.length);
      }
      const editor = await vscode.window.showTextDocument(doc, { preview: true, selection });
      if (selection) {
        // Whole symbol selected, cursor at its first line.
        editor.selection = new vscode.Selection(selection.end, selection.start);
        editor.revealRange(selection, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      }
    } catch (error) {
      void vscode.window.showErrorMessage(
        `RTK: cannot open ${uri.fsPath}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  dispose(): void {
    this.cts?.cancel();
  }
}
