/**
 * A small hand-written stand-in for the `vscode` module, enough for the
 * extension's logic. Tests script user answers through `ui` and inspect what
 * the extension did through `calls`.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import * as path from 'node:path';

type Listener<T> = (e: T) => any;

export class Disposable {
  constructor(private readonly fn: () => void = () => undefined) {}
  static from(...items: Array<{ dispose(): any }>): Disposable {
    return new Disposable(() => items.forEach((i) => i.dispose()));
  }
  dispose(): void {
    this.fn();
  }
}

export class EventEmitter<T> {
  private listeners: Array<Listener<T>> = [];
  event = (listener: Listener<T>): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    });
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) {
      l(e);
    }
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', path.resolve(p));
  }
  static parse(value: string): Uri {
    const m = /^([a-z][\w+.-]*):(?:\/\/)?(.*)$/i.exec(value);
    if (!m) {
      return new Uri('file', value);
    }
    return new Uri(m[1], decodeURIComponent(m[2].startsWith('/') ? m[2] : `/${m[2]}`));
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(sl: number, sc: number, el: number, ec: number) {
    this.start = new Position(sl, sc);
    this.end = new Position(el, ec);
  }
}

export class Selection extends Range {
  readonly anchor: Position;
  readonly active: Position;
  constructor(anchor: Position, active: Position) {
    super(anchor.line, anchor.character, active.line, active.character);
    this.anchor = anchor;
    this.active = active;
  }
}

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export class ThemeIcon {
  static readonly File = new ThemeIcon('file');
  static readonly Folder = new ThemeIcon('folder');
  constructor(readonly id: string) {}
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class MarkdownString {
  value = '';
  constructor(value = '') {
    this.value = value;
  }
  appendMarkdown(text: string): this {
    this.value += text;
    return this;
  }
  appendText(text: string): this {
    this.value += text;
    return this;
  }
}

export class TreeItem {
  id?: string;
  description?: string;
  tooltip?: string | MarkdownString;
  iconPath?: any;
  resourceUri?: Uri;
  command?: any;
  contextValue?: string;
  constructor(
    public label: string,
    public collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
  ) {}
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export enum ConfigurationTarget {
  Global = 1,
  Workspace = 2,
  WorkspaceFolder = 3,
}

export enum QuickPickItemKind {
  Separator = -1,
  Default = 0,
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum TextEditorRevealType {
  Default = 0,
  InCenter = 1,
  InCenterIfOutsideViewport = 2,
  AtTop = 3,
}

export class CancellationTokenSource {
  private emitter = new EventEmitter<void>();
  token = {
    isCancellationRequested: false,
    onCancellationRequested: this.emitter.event,
  };
  cancel(): void {
    if (!this.token.isCancellationRequested) {
      this.token.isCancellationRequested = true;
      this.emitter.fire();
    }
  }
  dispose(): void {
    this.emitter.dispose();
  }
}

// ---- state the tests script and inspect -------------------------------------------------

export interface WorkspaceFolder {
  uri: Uri;
  name: string;
  index: number;
}

export interface MockState {
  config: Record<string, unknown>;
  folderConfig: Record<string, Record<string, unknown>>;
  configUpdates: Array<{ key: string; value: unknown; target: ConfigurationTarget; scope?: string }>;
  commands: Map<string, (...args: any[]) => any>;
  executed: Array<{ command: string; args: any[] }>;
  messages: Array<{ level: 'info' | 'warning' | 'error'; text: string; items: string[] }>;
  /** Answers for showErrorMessage/showWarningMessage/showInformationMessage, in order. */
  messageAnswers: Array<string | undefined>;
  quickPickAnswers: Array<(items: any[]) => any>;
  inputBoxAnswers: Array<string | undefined>;
  /** What the task quick pick does: a value to accept, or undefined to dismiss. */
  taskAnswers: Array<string | undefined>;
  folderPickAnswers: Array<WorkspaceFolder | undefined>;
  clipboard: string;
  openedDocuments: Array<{ uri?: Uri; content?: string; language?: string }>;
  shown: Array<{ uri?: Uri; selection?: Range; content?: string }>;
  documents: Map<string, string>;
  progress: Array<{ title?: string; cancellable?: boolean }>;
  /** Set to cancel the next withProgress right after it starts. */
  cancelNextProgress: boolean;
  outputLines: string[];
  treeViews: any[];
  statusItems: any[];
  /** Installed extensions by id, as `extensions.getExtension` returns them. */
  extensions: Map<string, { isActive: boolean; exports: any; activate(): Promise<any> }>;
}

function freshState(): MockState {
  return {
    config: {},
    folderConfig: {},
    configUpdates: [],
    commands: new Map(),
    executed: [],
    messages: [],
    messageAnswers: [],
    quickPickAnswers: [],
    inputBoxAnswers: [],
    taskAnswers: [],
    folderPickAnswers: [],
    clipboard: '',
    openedDocuments: [],
    shown: [],
    documents: new Map(),
    progress: [],
    cancelNextProgress: false,
    outputLines: [],
    treeViews: [],
    statusItems: [],
    extensions: new Map(),
  };
}

export const mock: MockState & { reset(): void } = Object.assign(freshState(), {
  reset(): void {
    Object.assign(mock, freshState());
    workspace.workspaceFolders = undefined;
    window.activeTextEditor = undefined;
    configEmitter.dispose();
    foldersEmitter.dispose();
  },
});

// ---- commands ------------------------------------------------------------------------------

export const commands = {
  registerCommand(id: string, fn: (...args: any[]) => any): Disposable {
    mock.commands.set(id, fn);
    return new Disposable(() => mock.commands.delete(id));
  },
  async executeCommand(command: string, ...args: any[]): Promise<any> {
    mock.executed.push({ command, args });
    const fn = mock.commands.get(command);
    return fn ? fn(...args) : undefined;
  },
};

// ---- window --------------------------------------------------------------------------------

function message(level: 'info' | 'warning' | 'error') {
  return (text: string, ...items: any[]): Promise<string | undefined> => {
    const labels = items.filter((i) => typeof i === 'string');
    mock.messages.push({ level, text, items: labels });
    return Promise.resolve(mock.messageAnswers.shift());
  };
}

function outputChannel(name: string) {
  const log = (level: string) => (text: string) => mock.outputLines.push(`[${level}] ${text}`);
  return {
    name,
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: log('debug'),
    trace: log('trace'),
    append: (t: string) => mock.outputLines.push(t),
    appendLine: (t: string) => mock.outputLines.push(t),
    show: () => mock.executed.push({ command: 'output.show', args: [name] }),
    clear: () => undefined,
    dispose: () => undefined,
    onDidChangeLogLevel: new EventEmitter<number>().event,
    logLevel: 2,
  };
}

function createQuickPick() {
  const accept = new EventEmitter<void>();
  const hide = new EventEmitter<void>();
  const value = new EventEmitter<string>();
  const button = new EventEmitter<any>();
  const qp: any = {
    items: [] as any[],
    activeItems: [] as any[],
    selectedItems: [] as any[],
    value: '',
    title: undefined,
    placeholder: undefined,
    buttons: [],
    onDidAccept: accept.event,
    onDidHide: hide.event,
    onDidChangeValue: value.event,
    onDidTriggerButton: button.event,
    show() {
      const answer = mock.taskAnswers.shift();
      queueMicrotask(() => {
        if (answer === undefined) {
          hide.fire();
          return;
        }
        qp.value = answer;
        value.fire(answer);
        qp.activeItems = qp.items.slice(0, 1);
        accept.fire();
      });
    },
    hide() {
      hide.fire();
    },
    dispose() {
      accept.dispose();
      hide.dispose();
      value.dispose();
      button.dispose();
    },
  };
  return qp;
}

export const window = {
  activeTextEditor: undefined as undefined | { document: { uri: Uri } },
  createOutputChannel: (name: string) => outputChannel(name),
  showInformationMessage: message('info'),
  showWarningMessage: message('warning'),
  showErrorMessage: message('error'),
  createQuickPick,
  async showQuickPick(items: any[]): Promise<any> {
    const answer = mock.quickPickAnswers.shift();
    return answer ? answer(items) : undefined;
  },
  async showInputBox(options?: { validateInput?: (v: string) => any }): Promise<string | undefined> {
    const answer = mock.inputBoxAnswers.shift();
    if (answer !== undefined && options?.validateInput && options.validateInput(answer)) {
      return undefined;
    }
    return answer;
  },
  async showWorkspaceFolderPick(): Promise<WorkspaceFolder | undefined> {
    return mock.folderPickAnswers.shift();
  },
  async withProgress<R>(
    options: { title?: string; cancellable?: boolean },
    task: (progress: { report(v: unknown): void }, token: CancellationTokenSource['token']) => Promise<R>,
  ): Promise<R> {
    mock.progress.push(options);
    const cts = new CancellationTokenSource();
    const running = task({ report: () => undefined }, cts.token);
    if (mock.cancelNextProgress) {
      mock.cancelNextProgress = false;
      cts.cancel();
    }
    return running;
  },
  createTreeView(id: string, options: { treeDataProvider: any }) {
    const view = { id, ...options, message: undefined as string | undefined, dispose: () => undefined };
    mock.treeViews.push(view);
    return view;
  },
  createStatusBarItem(id?: string) {
    const item = { id, text: '', tooltip: undefined, command: undefined, show() {}, hide() {}, dispose() {} };
    mock.statusItems.push(item);
    return item;
  },
  async showTextDocument(doc: any, options?: { selection?: Range }) {
    const shown: { uri?: Uri; selection?: Range; content?: string } = {
      uri: doc.uri,
      selection: options?.selection,
      content: doc.getText?.(),
    };
    mock.shown.push(shown);
    return {
      document: doc,
      revealRange: () => undefined,
      set selection(s: Range) {
        shown.selection = s;
      },
    };
  },
};

// ---- workspace -----------------------------------------------------------------------------

const configEmitter = new EventEmitter<any>();
const foldersEmitter = new EventEmitter<any>();

function lookup(section: string, key: string, scope?: Uri): unknown {
  const full = section ? `${section}.${key}` : key;
  const folder = scope ? mock.folderConfig[scope.toString()] : undefined;
  if (folder && full in folder) {
    return folder[full];
  }
  return mock.config[full];
}

function textDocument(uri: Uri | undefined, content: string, language?: string) {
  const lines = content.split('\n');
  return {
    uri,
    languageId: language,
    lineCount: lines.length,
    lineAt: (n: number) => ({ text: lines[n] ?? '' }),
    getText: () => content,
  };
}

export const workspace = {
  workspaceFolders: undefined as WorkspaceFolder[] | undefined,
  getConfiguration(section = '', scope?: Uri) {
    return {
      get<T>(key: string, fallback?: T): T | undefined {
        const v = lookup(section, key, scope);
        return (v === undefined ? fallback : v) as T | undefined;
      },
      has: (key: string) => lookup(section, key, scope) !== undefined,
      inspect(key: string) {
        const full = section ? `${section}.${key}` : key;
        return {
          key: full,
          workspaceFolderValue: scope ? mock.folderConfig[scope.toString()]?.[full] : undefined,
          workspaceValue: undefined,
          globalValue: mock.config[full],
        };
      },
      async update(key: string, value: unknown, target: ConfigurationTarget) {
        const full = section ? `${section}.${key}` : key;
        mock.configUpdates.push({ key: full, value, target, scope: scope?.toString() });
        if (target === ConfigurationTarget.WorkspaceFolder && scope) {
          (mock.folderConfig[scope.toString()] ??= {})[full] = value;
        } else {
          mock.config[full] = value;
        }
      },
    };
  },
  getWorkspaceFolder(uri: Uri): WorkspaceFolder | undefined {
    return (workspace.workspaceFolders ?? [])
      .filter((f) => uri.fsPath === f.uri.fsPath || uri.fsPath.startsWith(f.uri.fsPath + path.sep))
      .sort((a, b) => b.uri.fsPath.length - a.uri.fsPath.length)[0];
  },
  async openTextDocument(arg: Uri | { content?: string; language?: string }) {
    if (arg instanceof Uri) {
      const content = mock.documents.get(arg.fsPath);
      if (content === undefined) {
        throw new Error(`cannot open file://${arg.fsPath}: not found`);
      }
      mock.openedDocuments.push({ uri: arg });
      return textDocument(arg, content);
    }
    mock.openedDocuments.push({ content: arg.content, language: arg.language });
    return textDocument(undefined, arg.content ?? '', arg.language);
  },
  onDidChangeConfiguration: configEmitter.event,
  onDidChangeWorkspaceFolders: foldersEmitter.event,
};

export function fireConfigurationChange(sections: string[]): void {
  configEmitter.fire({
    affectsConfiguration: (s: string) => sections.some((x) => x === s || x.startsWith(`${s}.`)),
  });
}

export const extensions = {
  getExtension(id: string) {
    return mock.extensions.get(id);
  },
};

export const env = {
  clipboard: {
    async writeText(text: string) {
      mock.clipboard = text;
    },
    async readText() {
      return mock.clipboard;
    },
  },
};

export function folder(fsPath: string, index = 0): WorkspaceFolder {
  return { uri: Uri.file(fsPath), name: path.basename(fsPath), index };
}
