/** Entry point: wires the server, the Plan view, the status bar and the commands. */
import * as vscode from 'vscode';
import { managedServer } from './install';
import { ServerInstaller } from './installCommand';
import { nodeProbeHost } from './launch';
import { PlanController } from './planController';
import { type LineRange, PlanTreeProvider } from './planTree';
import { type HttpReady, Methods } from './protocol';
import { RecentTasks } from './recent';
import { INSTALL_COMMAND, ServerManager } from './server';
import { needsRestart } from './settings';
import { StatusController } from './statusBar';

export interface RtkApi {
  server: ServerManager;
  installer: ServerInstaller;
  plans: PlanController;
  tree: PlanTreeProvider;
  status: StatusController;
}

let current: ServerManager | undefined;

export function activate(context: vscode.ExtensionContext): RtkApi {
  const output = vscode.window.createOutputChannel('RTK', { log: true });
  const storage = context.globalStorageUri.fsPath;
  const server = new ServerManager(output, nodeProbeHost, undefined, () => managedServer(storage)?.command);
  current = server;
  const installer = new ServerInstaller(storage, context.extensionPath, server, output);
  const tree = new PlanTreeProvider();
  const view = vscode.window.createTreeView('rtk.plan', { treeDataProvider: tree, showCollapseAll: true });
  const plans = new PlanController(server, tree, new RecentTasks(context.globalState), output, view);
  const status = new StatusController(server);

  server.onNotification(Methods.httpReady, (params) => {
    const p = params as Partial<HttpReady> | undefined;
    if (p?.url) {
      output.info(`HTTP endpoint ready: ${p.url}`);
    }
    status.poll(0);
  });

  const command = (id: string, fn: (...args: never[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  command('rtk.planContext', (task?: unknown) => plans.planCommand(task));
  command('rtk.rerun', () => plans.rerun());
  command('rtk.changeBudget', () => plans.changeBudget());
  command('rtk.copyContext', () => plans.copyContext());
  command('rtk.openMarkdown', () => plans.openMarkdown());
  command('rtk.openLocation', (target: unknown, range?: LineRange) => plans.openLocation(target, range));
  command('rtk.restartServer', () => server.restart());
  command(INSTALL_COMMAND, () => installer.install());
  command('rtk.showStatus', () => status.show());
  command('rtk.refreshIndex', () => status.refreshIndex());
  command('rtk.showLog', () => output.show(true));
  command('rtk.openServerSettings', () => vscode.commands.executeCommand('workbench.action.openSettings', 'rtk.server'));

  context.subscriptions.push(
    output,
    server,
    tree,
    view,
    plans,
    status,
    server.onDidChangeState((state) => {
      if (state === 'running') {
        installer.checkForUpdate();
      }
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (needsRestart((section) => e.affectsConfiguration(section))) {
        output.info('Server settings changed; restarting');
        server.scheduleRestart();
      } else if (e.affectsConfiguration('rtk')) {
        status.poll();
      }
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      if (server.state === 'noWorkspace' && (vscode.workspace.workspaceFolders ?? []).length > 0) {
        void server.start();
      } else {
        status.poll();
      }
    }),
  );

  void vscode.commands.executeCommand('setContext', 'rtk.hasPlan', false);
  void vscode.commands.executeCommand('setContext', 'rtk.serverState', server.state);
  void server.start();
  return { server, installer, plans, tree, status };
}

export async function deactivate(): Promise<void> {
  await current?.stop();
  current = undefined;
}
