/**
 * The "Plan" tree: nodes built from a plan (pure data), their tree items, and
 * the nodes that explain an empty or failed state.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { type Plan, type PlanSymbol, type SelectedFile, notFitting } from './protocol';

export const OPEN_LOCATION = 'rtk.openLocation';

export interface LineRange {
  start: number;
  end: number;
}

export type PlanNode =
  | { type: 'file'; file: SelectedFile; rank: number; absPath: string }
  | { type: 'symbol'; symbol: PlanSymbol; absPath: string }
  | { type: 'notFitting'; files: Array<{ rel_path: string; score: number; reason: string; absPath: string }> }
  | { type: 'dropped'; rel_path: string; score: number; reason: string; absPath: string }
  | MessageNode;

export interface MessageNode {
  type: 'message';
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  icon: string;
  command?: { command: string; title: string; arguments?: unknown[] };
}

/** The state the view shows. */
export type ViewState =
  | { kind: 'idle' }
  | { kind: 'planning'; task: string }
  | { kind: 'plan'; plan: Plan }
  | { kind: 'noWorkspace' }
  | { kind: 'serverNotRunning'; detail?: string }
  | { kind: 'indexing'; folder: string; message: string }
  | { kind: 'cancelled'; task: string }
  | { kind: 'error'; task: string; message: string; invalidParams?: boolean };

export function formatScore(score: number): string {
  return score.toFixed(2);
}

export function formatTokens(tokens: number): string {
  return `${Math.round(tokens).toLocaleString('en-US')} tok`;
}

export function formatLines(symbol: { start_line: number; end_line: number }): string {
  return symbol.start_line === symbol.end_line
    ? `L${symbol.start_line}`
    : `L${symbol.start_line}–${symbol.end_line}`;
}

/** Absolute path of a plan's relative path (forward slashes in, platform path out). */
export function absolutePath(root: string, relPath: string): string {
  return path.join(root, ...relPath.split('/'));
}

/** The top-level nodes of a plan: selected files in order, then a group of those that did not fit. */
export function planNodes(plan: Plan): PlanNode[] {
  const nodes: PlanNode[] = plan.selected.map((file, i) => ({
    type: 'file',
    file,
    rank: i + 1,
    absPath: absolutePath(plan.root, file.rel_path),
  }));
  const rest = notFitting(plan);
  if (rest.length > 0) {
    nodes.push({
      type: 'notFitting',
      files: rest.map((f) => ({ ...f, absPath: absolutePath(plan.root, f.rel_path) })),
    });
  }
  if (plan.selected.length === 0) {
    nodes.unshift({
      type: 'message',
      id: 'empty-plan',
      icon: 'info',
      label: 'No file fits this task.',
      description: 'Name a file, a symbol or an error message in the task, or raise the budget.',
      tooltip:
        'The server found no file relevant to the task within the budget. Tasks that name identifiers, paths or error messages rank best.',
      command: { command: 'rtk.planContext', title: 'Plan Context for Task…' },
    });
  }
  return nodes;
}

export function childNodes(node: PlanNode): PlanNode[] {
  if (node.type === 'file') {
    return node.file.symbols.map((symbol) => ({ type: 'symbol', symbol, absPath: node.absPath }));
  }
  if (node.type === 'notFitting') {
    return node.files.map((f) => ({ type: 'dropped', ...f }));
  }
  return [];
}

const RETRY = { command: 'rtk.rerun', title: 'Try Again' };
const SHOW_LOG = { command: 'rtk.showLog', title: 'Show Log' };

/** Nodes that say what happened and what to do; [] where the welcome view does it. */
export function stateNodes(state: ViewState): PlanNode[] {
  switch (state.kind) {
    case 'idle':
      return [];
    case 'plan':
      return planNodes(state.plan);
    case 'planning':
      return [
        { type: 'message', id: 'planning', icon: 'loading~spin', label: 'Planning…', description: state.task },
      ];
    case 'noWorkspace':
      return [
        {
          type: 'message',
          id: 'no-workspace',
          icon: 'folder',
          label: 'No folder is open.',
          description: 'Open a folder, then plan a task.',
          command: { command: 'workbench.action.files.openFolder', title: 'Open Folder' },
        },
      ];
    case 'serverNotRunning':
      return [
        {
          type: 'message',
          id: 'server-not-running',
          icon: 'error',
          label: 'The RTK server is not running.',
          description: 'Click to restart it; see the log for why it stopped.',
          tooltip: state.detail,
          command: { command: 'rtk.restartServer', title: 'Restart Server' },
        },
        {
          type: 'message',
          id: 'install-server',
          icon: 'cloud-download',
          label: 'Install rtk-lsp',
          description: 'a private copy in a virtual environment',
          command: { command: 'rtk.installServer', title: 'Install rtk-lsp' },
        },
        {
          type: 'message',
          id: 'server-settings',
          icon: 'gear',
          label: 'Set rtk.server.command or rtk.server.pythonPath',
          description: 'to use an rtk-lsp installed elsewhere',
          command: { command: 'rtk.openServerSettings', title: 'Open Settings' },
        },
        { type: 'message', id: 'show-log', icon: 'output', label: 'Show the server log', command: SHOW_LOG },
      ];
    case 'indexing':
      return [
        {
          type: 'message',
          id: 'indexing',
          icon: 'sync~spin',
          label: `The index of ${state.folder} is still being built.`,
          description: 'Try again when the status bar shows "RTK: N files".',
          tooltip: state.message,
        },
        { type: 'message', id: 'retry', icon: 'refresh', label: 'Try again', command: RETRY },
      ];
    case 'cancelled':
      return [
        {
          type: 'message',
          id: 'cancelled',
          icon: 'circle-slash',
          label: 'Planning was cancelled.',
          description: state.task,
        },
        { type: 'message', id: 'retry', icon: 'refresh', label: 'Run it again', command: RETRY },
      ];
    case 'error':
      return [
        {
          type: 'message',
          id: 'error',
          icon: 'error',
          label: state.invalidParams ? 'The server rejected the request.' : 'The plan request failed.',
          description: state.message,
          tooltip: state.message,
        },
        { type: 'message', id: 'retry', icon: 'refresh', label: 'Try again', command: RETRY },
        { type: 'message', id: 'show-log', icon: 'output', label: 'Show the server log', command: SHOW_LOG },
      ];
  }
}

const SYMBOL_ICONS: Record<string, string> = {
  class: 'symbol-class',
  struct: 'symbol-struct',
  interface: 'symbol-interface',
  trait: 'symbol-interface',
  enum: 'symbol-enum',
  function: 'symbol-function',
  method: 'symbol-method',
  constructor: 'symbol-constructor',
  variable: 'symbol-variable',
  constant: 'symbol-constant',
  field: 'symbol-field',
  property: 'symbol-property',
  module: 'symbol-module',
  namespace: 'symbol-namespace',
  type: 'symbol-type-parameter',
};

/** `InvoiceCalculator.apply_discount` → short `apply_discount`, container `InvoiceCalculator`. */
export function splitQualified(name: string): { short: string; container?: string } {
  const m = /^(.+?)(?:\.|::)([^.:]+)$/.exec(name);
  return m ? { short: m[2], container: m[1] } : { short: name };
}

export function symbolIcon(kind: string): string {
  return SYMBOL_ICONS[kind.toLowerCase()] ?? 'symbol-misc';
}

function fileTooltip(file: SelectedFile): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${escapeMd(file.rel_path)}**\n\n`);
  if (file.reasons.length > 0) {
    md.appendMarkdown(file.reasons.map((r) => `- ${escapeMd(r)}`).join('\n') + '\n\n');
  }
  md.appendMarkdown(
    `score ${formatScore(file.score)} · ${formatTokens(file.estimated_tokens)}` +
      (file.sources.length > 0 ? ` · from ${escapeMd(file.sources.join(', '))}` : ''),
  );
  return md;
}

function escapeMd(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+!|<>]/g, (c) => `\\${c}`);
}

export function openCommand(absPath: string, range?: LineRange): vscode.Command {
  return { command: OPEN_LOCATION, title: 'Open', arguments: [absPath, range] };
}

export function toTreeItem(node: PlanNode): vscode.TreeItem {
  switch (node.type) {
    case 'file': {
      const item = new vscode.TreeItem(
        node.file.rel_path,
        node.file.symbols.length > 0
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.None,
      );
      item.id = `file:${node.file.rel_path}`;
      item.resourceUri = vscode.Uri.file(node.absPath);
      item.iconPath = vscode.ThemeIcon.File;
      item.description = `${formatScore(node.file.score)} · ${formatTokens(node.file.estimated_tokens)}`;
      item.tooltip = fileTooltip(node.file);
      item.contextValue = 'rtkFile';
      item.command = openCommand(node.absPath);
      return item;
    }
    case 'symbol': {
      const { short, container } = splitQualified(node.symbol.name);
      const item = new vscode.TreeItem(short, vscode.TreeItemCollapsibleState.None);
      item.id = `symbol:${node.absPath}:${node.symbol.name}:${node.symbol.start_line}`;
      item.description = container ? `${formatLines(node.symbol)} · ${container}` : formatLines(node.symbol);
      item.tooltip = [node.symbol.signature || `${node.symbol.kind} ${short}`, `${node.symbol.kind} ${node.symbol.name}`]
        .filter((line, i, all) => all.indexOf(line) === i)
        .join('\n');
      item.iconPath = new vscode.ThemeIcon(symbolIcon(node.symbol.kind));
      item.contextValue = 'rtkSymbol';
      item.command = openCommand(node.absPath, { start: node.symbol.start_line, end: node.symbol.end_line });
      return item;
    }
    case 'notFitting': {
      const item = new vscode.TreeItem(
        `Did not fit the budget (${node.files.length})`,
        vscode.TreeItemCollapsibleState.Collapsed,
      );
      item.id = 'notFitting';
      item.iconPath = new vscode.ThemeIcon('archive');
      item.tooltip = 'Ranked files that were left out to stay within the token budget.';
      item.contextValue = 'rtkNotFitting';
      return item;
    }
    case 'dropped': {
      const item = new vscode.TreeItem(node.rel_path, vscode.TreeItemCollapsibleState.None);
      item.id = `dropped:${node.rel_path}`;
      item.resourceUri = vscode.Uri.file(node.absPath);
      item.iconPath = vscode.ThemeIcon.File;
      item.description = node.reason ? `${formatScore(node.score)} · ${node.reason}` : formatScore(node.score);
      item.tooltip = `${node.rel_path}\nscore ${formatScore(node.score)}${node.reason ? `\n${node.reason}` : ''}`;
      item.contextValue = 'rtkDropped';
      item.command = openCommand(node.absPath);
      return item;
    }
    case 'message': {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.None);
      item.id = `message:${node.id}`;
      item.description = node.description;
      item.tooltip = node.tooltip ?? [node.label, node.description].filter(Boolean).join('\n');
      item.iconPath = new vscode.ThemeIcon(node.icon);
      item.contextValue = 'rtkMessage';
      if (node.command) {
        item.command = node.command;
      }
      return item;
    }
  }
}

/** A one-line summary of a plan, shown above the tree. */
export function planSummary(plan: Plan): string {
  const r = plan.budget_report;
  const files = plan.selected.length === 1 ? '1 file' : `${plan.selected.length} files`;
  return `${files} · ${Math.round(r.estimated_used).toLocaleString('en-US')} / ${Math.round(
    r.token_budget,
  ).toLocaleString('en-US')} tokens · “${plan.task}”`;
}

export class PlanTreeProvider implements vscode.TreeDataProvider<PlanNode> {
  private _state: ViewState = { kind: 'idle' };
  private readonly changed = new vscode.EventEmitter<PlanNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  get state(): ViewState {
    return this._state;
  }

  setState(state: ViewState): void {
    this._state = state;
    this.changed.fire(undefined);
  }

  getTreeItem(node: PlanNode): vscode.TreeItem {
    return toTreeItem(node);
  }

  getChildren(node?: PlanNode): PlanNode[] {
    return node ? childNodes(node) : stateNodes(this._state);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
