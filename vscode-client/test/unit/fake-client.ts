/** A stand-in for vscode-languageclient's LanguageClient, recording what the extension asks of it. */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { EventEmitter } from './vscode-mock';

export const State = { Stopped: 1, Running: 2, Starting: 3 } as const;
export const ErrorAction = { Continue: 1, Shutdown: 2 } as const;
export const CloseAction = { DoNotRestart: 1, Restart: 2 } as const;
export const TransportKind = { stdio: 0, ipc: 1, pipe: 2, socket: 3 } as const;

export type RequestHandler = (method: string, params: any, token?: any) => Promise<any>;

export class FakeLanguageClient {
  static instances: FakeLanguageClient[] = [];
  /** How the next clients answer requests. */
  static handler: RequestHandler = async () => null;
  /** Makes start() reject with this error. */
  static startError: Error | undefined;

  readonly stateEmitter = new EventEmitter<{ oldState: number; newState: number }>();
  readonly onDidChangeState = this.stateEmitter.event;
  readonly requests: Array<{ method: string; params: any }> = [];
  readonly notifications = new Map<string, (p: any) => void>();
  running = false;
  stopped = false;

  constructor(
    readonly serverOptions: any,
    readonly clientOptions: any,
  ) {
    FakeLanguageClient.instances.push(this);
  }

  async start(): Promise<void> {
    this.stateEmitter.fire({ oldState: State.Stopped, newState: State.Starting });
    if (FakeLanguageClient.startError) {
      this.stateEmitter.fire({ oldState: State.Starting, newState: State.Stopped });
      throw FakeLanguageClient.startError;
    }
    this.running = true;
    this.stateEmitter.fire({ oldState: State.Starting, newState: State.Running });
  }

  isRunning(): boolean {
    return this.running;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    this.stateEmitter.fire({ oldState: State.Running, newState: State.Stopped });
  }

  async dispose(): Promise<void> {
    this.running = false;
  }

  sendRequest(method: string, params: any, token?: any): Promise<any> {
    this.requests.push({ method, params });
    return FakeLanguageClient.handler(method, params, token);
  }

  onNotification(method: string, handler: (p: any) => void) {
    this.notifications.set(method, handler);
    return { dispose: () => this.notifications.delete(method) };
  }

  static reset(): void {
    FakeLanguageClient.instances = [];
    FakeLanguageClient.handler = async () => null;
    FakeLanguageClient.startError = undefined;
  }
}
