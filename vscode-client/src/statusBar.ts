/**
 * The status bar item (indexing progress, then "RTK: N files") and the
 * `rtk/status` quick view behind it. Progress comes from polling `rtk/status`
 * every second while a folder is indexing.
 */
import * as vscode from 'vscode';
import {
  type EpisodeStatus,
  type FolderStatus,
  Methods,
  type ServerStatus,
  parseFolderStatus,
  parseStatus,
  summarizeStatus,
} from './protocol';
import type { ServerManager, ServerState } from './server';

export const POLL_BUSY_MS = 1000;
export const POLL_IDLE_MS = 30000;

export interface StatusView {
  text: string;
  tooltip: string;
  busy: boolean;
  error: boolean;
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

/** What the status bar shows for a server state and, when running, its status. */
export function statusView(state: ServerState, status?: ServerStatus, error?: string): StatusView {
  switch (state) {
    case 'noWorkspace':
      return { text: 'RTK', tooltip: 'RTK: no folder is open', busy: false, error: false };
    case 'starting':
      return { text: '$(sync~spin) RTK: starting', tooltip: 'RTK: starting the language server', busy: true, error: false };
    case 'failed':
      return {
        text: '$(error) RTK: not running',
        tooltip: error ?? 'RTK: the language server could not start. Click for details.',
        busy: false,
        error: true,
      };
    case 'stopped':
      return { text: '$(circle-slash) RTK: stopped', tooltip: 'RTK: the language server is stopped', busy: false, error: true };
    case 'running':
      break;
  }
  if (!status) {
    return { text: '$(sync~spin) RTK', tooltip: 'RTK: asking the server for its status', busy: true, error: false };
  }
  const s = summarizeStatus(status);
  switch (s.kind) {
    case 'empty':
      return { text: 'RTK: no folders', tooltip: 'RTK: the server has no workspace folder', busy: false, error: false };
    case 'indexing':
      return {
        text: `$(sync~spin) RTK: indexing… ${plural(s.files, 'file')}`,
        tooltip: `RTK: indexing ${plural(s.folders, 'folder')}; ${plural(s.files, 'file')} so far. Click for details.`,
        busy: true,
        error: false,
      };
    case 'failed':
      return {
        text: `$(warning) RTK: ${plural(s.files, 'file')}`,
        tooltip: `RTK: indexing failed for ${s.failed.join(', ')}. Click for details.`,
        busy: false,
        error: true,
      };
    case 'ready':
      return {
        text: `RTK: ${plural(s.files, 'file')}`,
        tooltip: `RTK: ${plural(s.files, 'file')} indexed${status.http ? ` · HTTP ${status.http.url}` : ''}. Click for details.`,
        busy: false,
        error: false,
      };
  }
}

export interface StatusItem extends vscode.QuickPickItem {
  action?: { kind: 'copy'; value: string } | { kind: 'refresh'; uri: string } | { kind: 'command'; command: string };
}

function folderName(f: FolderStatus): string {
  const root = f.root || vscode.Uri.parse(f.uri).fsPath;
  return root.split(/[\\/]/).filter(Boolean).pop() ?? root;
}

/** The "is it helping?" line of a folder: the figures of `rtk-lsp gain` for the last week. */
export function episodeItem(e: EpisodeStatus): StatusItem {
  const days = plural(e.days, 'day');
  if (!e.enabled) {
    return { label: '$(circle-slash) plans are not recorded', description: 'rtk.episodes.enabled is off' };
  }
  if (e.error) {
    return { label: '$(warning) plans are no longer recorded', description: e.error };
  }
  const g = e.gain;
  if (!g || g.plans === 0) {
    return { label: `$(graph) no plans recorded in the last ${days}`, description: 'rtk-lsp gain' };
  }
  const parts: string[] = [];
  if (g.field_recall !== null) {
    parts.push(`recall ${g.field_recall.toFixed(2)} (${g.edited_selected} of ${plural(g.edited_files, 'edited file')})`);
  }
  if (g.field_precision !== null) {
    parts.push(
      `precision ${g.field_precision.toFixed(2)} (${g.selected_touched} of ${plural(g.selected_observed, 'selected file')} used)`,
    );
  }
  return {
    label: `$(graph) last ${days}: ${plural(g.plans, 'plan')} · ${plural(g.tokens_injected, 'token')} injected`,
    description: parts.length > 0 ? parts.join(' · ') : 'nothing seen yet of what agents did after them',
    detail: `reading the selected files whole: ${plural(g.tokens_whole_files, 'token')} · ${plural(
      g.episodes_with_outcomes,
      'plan',
    )} with outcomes · rtk-lsp gain for more`,
  };
}

/** The lines of the `rtk/status` quick view. */
export function statusItems(status: ServerStatus): StatusItem[] {
  const items: StatusItem[] = [];
  items.push({ label: `$(info) rtk-lsp ${status.version || '(unknown version)'}`, description: 'server version' });
  if (status.http) {
    items.push({
      label: `$(globe) ${status.http.url}`,
      description: 'HTTP endpoint · select to copy',
      action: { kind: 'copy', value: status.http.url },
    });
  } else {
    items.push({ label: '$(globe) no HTTP endpoint', description: 'rtk.http.enabled is off or it has not started' });
  }
  for (const f of status.folders) {
    items.push({ label: folderName(f), kind: vscode.QuickPickItemKind.Separator });
    const icon = f.state === 'ready' ? '$(check)' : f.state === 'indexing' ? '$(sync~spin)' : '$(error)';
    items.push({ label: `${icon} ${f.state}`, description: f.root, detail: f.uri });
    const langs = Object.entries(f.languages)
      .sort((a, b) => b[1] - a[1])
      .map(([lang, n]) => `${lang} ${n}`)
      .join(', ');
    items.push({ label: `$(files) ${plural(f.files, 'file')}`, description: langs || undefined });
    items.push({
      label: `$(symbol-class) ${plural(f.symbols, 'symbol')}`,
      description: `${plural(f.edges.imports, 'import')} · ${plural(f.edges.calls, 'call')}`,
    });
    items.push({
      label: `$(git-commit) ${plural(f.history.commits, 'commit')}`,
      description: f.history.head ? `head ${f.history.head.slice(0, 12)}` : 'no git history',
    });
    items.push({
      label: `$(clock) last refresh: ${f.last_refresh ?? 'never'}`,
      description: `cache ${f.cache.hits} hits / ${f.cache.misses} misses · ${f.memory_mb.toFixed(1)} MB`,
    });
    if (f.episodes) {
      items.push(episodeItem(f.episodes));
    }
    items.push({
      label: '$(refresh) Refresh the index',
      description: folderName(f),
      action: { kind: 'refresh', uri: f.uri },
    });
  }
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: '$(output) Show the server log', action: { kind: 'command', command: 'rtk.showLog' } });
  items.push({ label: '$(debug-restart) Restart the server', action: { kind: 'command', command: 'rtk.restartServer' } });
  return items;
}

export class StatusController implements vscode.Disposable {
  readonly item: vscode.StatusBarItem;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private status: ServerStatus | undefined;
  private disposed = false;
  private polling = false;

  constructor(private readonly server: ServerManager) {
    this.item = vscode.window.createStatusBarItem('rtk.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'RTK';
    this.item.command = 'rtk.showStatus';
    server.onDidChangeState((state) => this.onState(state));
    this.onState(server.state);
  }

  get lastStatus(): ServerStatus | undefined {
    return this.status;
  }

  private render(): void {
    const view = statusView(this.server.state, this.status, this.server.lastError);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  private onState(state: ServerState): void {
    if (state !== 'running') {
      this.status = undefined;
    }
    this.render();
    if (state === 'running') {
      this.poll(0);
    } else if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Asks for the status after `delayMs` (soon after a change that may start indexing). */
  poll(delayMs = POLL_BUSY_MS): void {
    if (this.disposed) {
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, delayMs);
  }

  /** Fetches `rtk/status`, renders it, and schedules the next poll. */
  async refresh(): Promise<ServerStatus | undefined> {
    if (this.server.state !== 'running' || this.polling) {
      return this.status;
    }
    this.polling = true;
    try {
      this.status = parseStatus(await this.server.request<unknown>(Methods.status, {}));
    } catch (error) {
      this.server.output.debug(`rtk/status: ${String(error)}`);
    } finally {
      this.polling = false;
    }
    this.render();
    if (this.server.state === 'running') {
      const busy = !this.status || summarizeStatus(this.status).kind === 'indexing';
      this.poll(busy ? POLL_BUSY_MS : POLL_IDLE_MS);
    }
    return this.status;
  }

  /** `RTK: Show Status`: `rtk/status` in a quick view. */
  async show(): Promise<void> {
    if (this.server.state !== 'running') {
      const view = statusView(this.server.state, undefined, this.server.lastError);
      const choice = await vscode.window.showWarningMessage(view.tooltip, 'Restart Server', 'Show Log');
      if (choice === 'Restart Server') {
        await vscode.commands.executeCommand('rtk.restartServer');
      } else if (choice === 'Show Log') {
        this.server.output.show(true);
      }
      return;
    }
    const status = await this.refresh();
    if (!status) {
      void vscode.window.showErrorMessage('RTK: the server did not answer rtk/status. See the RTK output.');
      return;
    }
    const picked = await vscode.window.showQuickPick(statusItems(status), {
      title: 'RTK: Status',
      placeHolder: `rtk-lsp ${status.version}${status.http ? ` · ${status.http.url}` : ''}`,
      matchOnDescription: true,
    });
    const action = picked?.action;
    if (!action) {
      return;
    }
    if (action.kind === 'copy') {
      await vscode.env.clipboard.writeText(action.value);
      void vscode.window.showInformationMessage(`RTK: copied ${action.value}`);
    } else if (action.kind === 'refresh') {
      await this.refreshIndex(action.uri);
    } else {
      await vscode.commands.executeCommand(action.command);
    }
  }

  /** `rtk/refresh` for one folder, then poll while it re-indexes. */
  async refreshIndex(uri?: string): Promise<void> {
    try {
      const folder = parseFolderStatus(
        await this.server.request<unknown>(Methods.refresh, uri ? { workspace: uri } : {}),
      );
      this.server.output.info(`Refreshed ${folder.root || folder.uri}: ${folder.state}, ${folder.files} files`);
    } catch (error) {
      void vscode.window.showErrorMessage(
        `RTK: refreshing the index failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    this.poll(0);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.item.dispose();
  }
}
