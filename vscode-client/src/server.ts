/**
 * The language server's lifecycle: choosing the command, starting the client,
 * debounced restarts, state for the UI, and one clear error when it cannot start.
 */
import * as vscode from 'vscode';
import {
  type CancellationToken,
  CloseAction,
  type ConfigurationParams,
  ErrorAction,
  LanguageClient,
  type LanguageClientOptions,
  type Executable,
  State,
} from 'vscode-languageclient/node';
import {
  type LaunchCandidate,
  type ProbeHost,
  chooseLaunch,
  describeCandidate,
  launchCandidates,
  nodeProbeHost,
  notFoundMessage,
} from './launch';
import { readClientSettings, toServerOptions } from './settings';

export type ServerState = 'noWorkspace' | 'starting' | 'running' | 'stopped' | 'failed';

export const CLIENT_ID = 'rtk';
export const CLIENT_NAME = 'RTK';
export const RESTART_DELAY_MS = 1000;
/** A server that dies more than this often within CRASH_WINDOW_MS is not restarted again. */
export const MAX_CRASH_RESTARTS = 3;
export const CRASH_WINDOW_MS = 3 * 60 * 1000;

/** Thrown by `request` when there is no running server to ask. */
export class ServerNotRunningError extends Error {
  constructor(
    readonly state: ServerState,
    readonly detail?: string,
  ) {
    super(
      state === 'noWorkspace'
        ? 'No folder is open.'
        : state === 'starting'
          ? 'The RTK server is still starting.'
          : `The RTK server is not running${detail ? `: ${detail}` : '.'}`,
    );
    this.name = 'ServerNotRunningError';
  }
}

export const OPEN_SETTINGS = 'Open Settings';
export const SHOW_LOG = 'Show Log';
export const INSTALL = 'Install rtk-lsp';
/** The command that makes the private install (registered by the extension). */
export const INSTALL_COMMAND = 'rtk.installServer';

export type ClientFactory = (
  serverOptions: Executable,
  clientOptions: LanguageClientOptions,
) => LanguageClient;

const defaultFactory: ClientFactory = (serverOptions, clientOptions) =>
  new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);

/** The `rtk` section as the server wants it, for initialization options and `workspace/configuration`. */
export function serverConfiguration(scope?: vscode.Uri): ReturnType<typeof toServerOptions> {
  return toServerOptions(vscode.workspace.getConfiguration('rtk', scope));
}

export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private _state: ServerState = 'stopped';
  private _lastError: string | undefined;
  private _launch: LaunchCandidate | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private starting: Promise<void> | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
  private readonly notificationHandlers: Array<[string, (params: unknown) => void]> = [];
  private clientDisposables: vscode.Disposable[] = [];
  private crashes: number[] = [];
  /** Fires when the state changes. */
  readonly onDidChangeState = this.stateEmitter.event;

  constructor(
    readonly output: vscode.LogOutputChannel,
    private readonly probeHost: ProbeHost = nodeProbeHost,
    private readonly factory: ClientFactory = defaultFactory,
    /** The `rtk-lsp` of the private install ("RTK: Install rtk-lsp"), looked up at each start. */
    private readonly managedCommand: () => string | undefined = () => undefined,
  ) {}

  get state(): ServerState {
    return this._state;
  }

  get lastError(): string | undefined {
    return this._lastError;
  }

  /** The command line in use, if started. */
  get launch(): LaunchCandidate | undefined {
    return this._launch;
  }

  private setState(state: ServerState): void {
    if (state !== this._state) {
      this._state = state;
      void vscode.commands.executeCommand('setContext', 'rtk.serverState', state);
      this.stateEmitter.fire(state);
    }
  }

  /** Registers a notification handler that survives restarts. */
  onNotification(method: string, handler: (params: unknown) => void): void {
    this.notificationHandlers.push([method, handler]);
    if (this.client) {
      this.clientDisposables.push(this.client.onNotification(method, handler));
    }
  }

  /** Starts the server unless it is running; resolves when started or failed. */
  start(): Promise<void> {
    if (this.client && this._state === 'running') {
      return Promise.resolve();
    }
    if (!this.starting) {
      this.starting = this.doStart().finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (folders.length === 0) {
      this.setState('noWorkspace');
      return;
    }
    this._lastError = undefined;
    this.setState('starting');
    const settings = readClientSettings(vscode.workspace.getConfiguration('rtk'));
    const cwd = folders[0].uri.fsPath;
    const candidates = launchCandidates(settings, { workspaceFolder: cwd, managed: this.managedCommand() });
    this.output.info(`Looking for the server: ${candidates.map(describeCandidate).join(' | ')}`);
    const choice = await chooseLaunch(candidates, this.probeHost);
    if (!choice.found) {
      this.fail(notFoundMessage(choice.failures), true);
      return;
    }
    for (const f of choice.failures) {
      this.output.warn(`Skipped ${describeCandidate(f.candidate)}: ${f.reason}`);
    }
    this._launch = choice.found;
    this.output.info(`Starting ${describeCandidate(choice.found)} (cwd ${cwd})`);
    const serverOptions: Executable = {
      command: choice.found.command,
      args: choice.found.args,
      // No `transport`: TransportKind.stdio would append `--stdio` to the arguments,
      // which `rtk-lsp lsp` does not take; without it the client still talks over stdio.
      options: { cwd, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }],
      outputChannel: this.output,
      traceOutputChannel: this.output,
      revealOutputChannelOn: 4 /* RevealOutputChannelOn.Never */,
      initializationOptions: serverConfiguration(),
      synchronize: { configurationSection: 'rtk' },
      initializationFailedHandler: (error) => {
        this.output.error(`Initialization failed: ${String(error)}`);
        return false;
      },
      errorHandler: {
        error: (_error, _message, count) => ({
          action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
          handled: true,
        }),
        closed: () => this.onClosed(),
      },
      middleware: {
        workspace: {
          configuration: async (params: ConfigurationParams, token: CancellationToken, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) {
              return result;
            }
            return params.items.map((item, i) =>
              item.section === 'rtk'
                ? serverConfiguration(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
                : result[i],
            );
          },
        },
      },
    };
    const client = this.factory(serverOptions, clientOptions);
    this.client = client;
    this.clientDisposables.push(
      client.onDidChangeState((e) => {
        if (this.client !== client) {
          return;
        }
        if (e.newState === State.Running) {
          this.setState('running');
        } else if (e.newState === State.Starting) {
          this.setState('starting');
        } else if (e.newState === State.Stopped && this._state !== 'failed') {
          this.setState('stopped');
        }
      }),
    );
    for (const [method, handler] of this.notificationHandlers) {
      this.clientDisposables.push(client.onNotification(method, handler));
    }
    try {
      await client.start();
      if (this.client === client) {
        this.setState('running');
      }
    } catch (error) {
      if (this.client === client) {
        this.fail(
          `RTK: the language server \`${describeCandidate(choice.found)}\` failed to start: ${
            error instanceof Error ? error.message : String(error)
          }. See the RTK output for its log. Reinstall it ("RTK: Install rtk-lsp") or point \`rtk.server.command\` / \`rtk.server.pythonPath\` at a working installation.`,
        );
        await this.disposeClient();
      }
    }
  }

  /** The connection closed: restart a server that was running, a few times; report the rest once. */
  private onClosed(): { action: CloseAction; handled: boolean } {
    if (this._state !== 'running') {
      // Never got running: start() reports it.
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashes.length <= MAX_CRASH_RESTARTS) {
      this.output.warn(`The server exited; restarting it (${this.crashes.length}/${MAX_CRASH_RESTARTS})`);
      return { action: CloseAction.Restart, handled: true };
    }
    this.fail(
      `RTK: the language server exited ${this.crashes.length} times in ${CRASH_WINDOW_MS / 60000} minutes and was not restarted. ` +
        'See the RTK output for its log, then run "RTK: Restart Server".',
    );
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  /** Reports a failure once; `offerInstall` when no server was found at all. */
  private fail(message: string, offerInstall = false): void {
    this._lastError = message;
    this.output.error(message);
    this.setState('failed');
    const actions = offerInstall ? [INSTALL, OPEN_SETTINGS, SHOW_LOG] : [OPEN_SETTINGS, SHOW_LOG];
    void vscode.window.showErrorMessage(message, ...actions).then((choice) => {
      if (choice === INSTALL) {
        void vscode.commands.executeCommand(INSTALL_COMMAND);
      } else if (choice === OPEN_SETTINGS) {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'rtk.server');
      } else if (choice === SHOW_LOG) {
        this.output.show(true);
      }
    });
  }

  private async disposeClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const d of this.clientDisposables) {
      d.dispose();
    }
    this.clientDisposables = [];
    if (client) {
      try {
        if (client.isRunning()) {
          await client.stop(5000);
        }
      } catch (error) {
        this.output.warn(`Stopping the server: ${String(error)}`);
      }
      try {
        await client.dispose();
      } catch {
        // already stopped
      }
    }
  }

  async stop(): Promise<void> {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    await this.disposeClient();
    this.setState('stopped');
  }

  async restart(): Promise<void> {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    if (this.starting) {
      await this.starting.catch(() => undefined);
    }
    this.output.info('Restarting the server');
    this.crashes = [];
    await this.disposeClient();
    this._state = 'stopped';
    await this.start();
  }

  /** Restarts after `delayMs` of quiet, so a burst of setting changes restarts once. */
  scheduleRestart(delayMs = RESTART_DELAY_MS): void {
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.restart();
    }, delayMs);
  }

  /** Sends a request to the running server. */
  async request<R>(method: string, params: unknown, token?: vscode.CancellationToken): Promise<R> {
    if (this.starting) {
      await this.starting;
    }
    const client = this.client;
    if (!client || this._state !== 'running') {
      throw new ServerNotRunningError(this._state, this._lastError);
    }
    return token ? client.sendRequest<R>(method, params, token) : client.sendRequest<R>(method, params);
  }

  dispose(): void {
    void this.stop();
    this.stateEmitter.dispose();
  }
}
