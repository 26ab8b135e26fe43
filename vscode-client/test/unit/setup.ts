import { beforeEach, vi } from 'vitest';
import { FakeLanguageClient } from './fake-client';
import { mock } from './vscode-mock';

vi.mock('vscode-languageclient/node', async () => {
  const fake = await import('./fake-client');
  return {
    LanguageClient: fake.FakeLanguageClient,
    State: fake.State,
    TransportKind: fake.TransportKind,
    ErrorAction: fake.ErrorAction,
    CloseAction: fake.CloseAction,
  };
});

beforeEach(() => {
  mock.reset();
  FakeLanguageClient.reset();
});
