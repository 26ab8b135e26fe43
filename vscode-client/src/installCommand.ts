/**
 * The "RTK: Install rtk-lsp" command: finds a Python (the Python extension's selected
 * interpreter first, then python3 and python on PATH), installs the wheel the extension
 * carries into a virtual environment in the extension's global storage with progress,
 * then restarts the server. Failures say what went wrong and what to do.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  InstallError,
  type ManagedServer,
  type PythonCandidate,
  type Runner,
  bundledWheel,
  installServer,
  managedServer,
  spawnRunner,
} from './install';
import { type ServerManager, SHOW_LOG } from './server';

export const RETRY = 'Try Again';
export const UPDATE = 'Update rtk-lsp';

/** The part of the Python extension's API used here (ms-python.python, `environments` or the older `settings`). */
interface PythonApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
    resolveEnvironment(env: { path: string }): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
  settings?: { getExecutionDetails(resource?: vscode.Uri): { execCommand?: string[] } };
}

/** The interpreter selected in the Python extension, if it is installed and has one. */
export async function selectedInterpreter(scope?: vscode.Uri): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<PythonApi>('ms-python.python');
  if (!ext) {
    return undefined;
  }
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    if (api?.environments) {
      const active = api.environments.getActiveEnvironmentPath(scope);
      const resolved = await api.environments.resolveEnvironment(active);
      return resolved?.executable.uri?.fsPath ?? active.path;
    }
    return api?.settings?.getExecutionDetails(scope).execCommand?.[0];
  } catch {
    return undefined;
  }
}

export async function pythonCandidates(scope?: vscode.Uri): Promise<PythonCandidate[]> {
  const selected = await selectedInterpreter(scope);
  return [
    ...(selected ? [{ command: selected, origin: "the Python extension's selected interpreter" }] : []),
    { command: 'python3', origin: 'python3 on PATH' },
    { command: 'python', origin: 'python on PATH' },
  ];
}

export class ServerInstaller {
  private running: Promise<void> | undefined;
  private offeredUpdate = false;

  constructor(
    private readonly storageDir: string,
    private readonly extensionDir: string,
    private readonly server: ServerManager,
    private readonly output: vscode.LogOutputChannel,
    private readonly run: Runner = spawnRunner,
  ) {}

  /** The private install, if complete. */
  get installed(): ManagedServer | undefined {
    return managedServer(this.storageDir);
  }

  /** Installs (or reinstalls) and restarts the server; a second call while one runs joins it. */
  install(): Promise<void> {
    this.running ??= this.doInstall().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doInstall(): Promise<void> {
    const scope = vscode.workspace.workspaceFolders?.[0]?.uri;
    const pythons = await pythonCandidates(scope);
    // The environment is about to be replaced: a server running from it must stop first.
    const wasManaged = this.server.launch?.source === 'managed';
    if (wasManaged) {
      await this.server.stop();
    }
    this.output.info(`Installing rtk-lsp into ${this.storageDir}`);
    try {
      const installed = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'RTK: Installing rtk-lsp' },
        (progress) =>
          installServer({
            pythons,
            storageDir: this.storageDir,
            wheel: bundledWheel(this.extensionDir),
            run: this.run,
            report: (message) => progress.report({ message }),
            log: (line) => this.output.info(line),
          }),
      );
      this.output.info(`Installed ${installed.wheel}: ${installed.command}`);
      void vscode.window.showInformationMessage(`RTK: rtk-lsp installed (${installed.wheel}). Starting the server.`);
      await this.server.restart();
    } catch (error) {
      const message =
        error instanceof InstallError
          ? `RTK: could not install rtk-lsp: ${error.message} ${error.advice}`
          : `RTK: could not install rtk-lsp: ${error instanceof Error ? error.message : String(error)}`;
      this.output.error(message);
      if (wasManaged) {
        await this.server.restart(); // reports what is left (no server found) the usual way
      }
      void vscode.window.showErrorMessage(message, RETRY, SHOW_LOG).then((choice) => {
        if (choice === RETRY) {
          // After this attempt has settled, or install() would join it.
          void (this.running ?? Promise.resolve()).then(() => this.install());
        } else if (choice === SHOW_LOG) {
          this.output.show(true);
        }
      });
    }
  }

  /**
   * When the server runs from the private install: offers, once, to update it if the extension
   * now carries another wheel (the extension was updated since).
   */
  checkForUpdate(): void {
    const installed = this.installed;
    const wheel = bundledWheel(this.extensionDir);
    const carried = wheel && path.basename(wheel);
    if (this.offeredUpdate || this.server.launch?.source !== 'managed' || !installed || !carried || carried === installed.wheel) {
      return;
    }
    this.offeredUpdate = true;
    this.output.warn(`The private rtk-lsp was installed from ${installed.wheel}; the extension now carries ${carried}.`);
    void vscode.window
      .showInformationMessage(`RTK: this version of the extension comes with ${carried}; the server in use is ${installed.wheel}.`, UPDATE)
      .then((choice) => {
        if (choice === UPDATE) {
          void this.install();
        }
      });
  }
}
