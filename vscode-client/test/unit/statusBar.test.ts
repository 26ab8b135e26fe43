import { describe, expect, it } from 'vitest';
import * as vscode from 'vscode';
import { parseStatus } from '../../src/protocol';
import { statusItems, statusView } from '../../src/statusBar';
import { sampleStatus } from './fixtures';

describe('status bar', () => {
  it('shows indexing progress, then the file count', () => {
    expect(statusView('running', parseStatus(sampleStatus('indexing'))).text).toBe('$(sync~spin) RTK: indexing… 5 files');
    expect(statusView('running', parseStatus(sampleStatus('ready'))).text).toBe('RTK: 5 files');
    expect(statusView('running', parseStatus(sampleStatus('ready'))).tooltip).toContain('http://127.0.0.1:43210');
    expect(statusView('running', parseStatus(sampleStatus('failed')))).toMatchObject({ error: true });
  });

  it('shows why the server is not running', () => {
    expect(statusView('failed', undefined, 'RTK: cannot start')).toMatchObject({
      text: '$(error) RTK: not running',
      tooltip: 'RTK: cannot start',
    });
    expect(statusView('starting').text).toBe('$(sync~spin) RTK: starting');
  });
});

describe('status quick view', () => {
  it('lists the version, the HTTP endpoint and each folder', () => {
    const items = statusItems(parseStatus(sampleStatus('ready')));
    const labels = items.map((i) => i.label);
    expect(labels[0]).toBe('$(info) rtk-lsp 0.1.0');
    expect(items[1]).toMatchObject({
      label: '$(globe) http://127.0.0.1:43210',
      action: { kind: 'copy', value: 'http://127.0.0.1:43210' },
    });
    expect(items).toContainEqual(expect.objectContaining({ label: 'rtk-fixture', kind: vscode.QuickPickItemKind.Separator }));
    expect(items).toContainEqual(expect.objectContaining({ label: '$(files) 5 files', description: 'python 4, markdown 1' }));
    expect(items).toContainEqual(expect.objectContaining({ label: '$(git-commit) 2 commits', description: 'head 0123456789ab' }));
    expect(items).toContainEqual(
      expect.objectContaining({ action: { kind: 'refresh', uri: 'file:///tmp/rtk-fixture' } }),
    );
  });

  it('says when there is no HTTP endpoint', () => {
    const items = statusItems(parseStatus({ ...sampleStatus(), http: null }));
    expect(items[1].label).toBe('$(globe) no HTTP endpoint');
    expect(items[1].action).toBeUndefined();
  });
});
