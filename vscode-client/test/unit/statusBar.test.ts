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

  it("shows the last week's figures of each folder, and says what it cannot", () => {
    const figures = {
      plans: 12,
      episodes_with_outcomes: 5,
      tokens_injected: 30400,
      tokens_whole_files: 91000,
      field_recall: 0.8,
      field_precision: 0.45,
      edited_files: 5,
      edited_selected: 4,
      selected_observed: 20,
      selected_touched: 9,
    };
    const status = (episodes: unknown) => {
      const s = sampleStatus('ready') as { folders: Array<Record<string, unknown>> };
      s.folders[0].episodes = episodes;
      return statusItems(parseStatus(s));
    };
    expect(status({ enabled: true, days: 7, gain: figures, error: null })).toContainEqual(
      expect.objectContaining({
        label: '$(graph) last 7 days: 12 plans · 30,400 tokens injected',
        description: 'recall 0.80 (4 of 5 edited files) · precision 0.45 (9 of 20 selected files used)',
        detail: 'reading the selected files whole: 91,000 tokens · 5 plans with outcomes · rtk-lsp gain for more',
      }),
    );
    const unseen = { ...figures, episodes_with_outcomes: 0, field_recall: null, field_precision: null };
    expect(status({ enabled: true, days: 7, gain: unseen, error: null })).toContainEqual(
      expect.objectContaining({ description: 'nothing seen yet of what agents did after them' }),
    );
    expect(status({ enabled: true, days: 7, gain: { ...figures, plans: 0 }, error: null })).toContainEqual(
      expect.objectContaining({ label: '$(graph) no plans recorded in the last 7 days' }),
    );
    expect(status({ enabled: false, days: 7, gain: null, error: null })).toContainEqual(
      expect.objectContaining({ label: '$(circle-slash) plans are not recorded' }),
    );
    expect(status({ enabled: true, days: 7, gain: null, error: 'SQLITE_FULL: database or disk is full' })).toContainEqual(
      expect.objectContaining({ label: '$(warning) plans are no longer recorded', description: 'SQLITE_FULL: database or disk is full' }),
    );
    // A server that does not record: no line at all.
    expect(statusItems(parseStatus(sampleStatus('ready'))).some((i) => i.label.includes('$(graph)'))).toBe(false);
  });

  it('says when there is no HTTP endpoint', () => {
    const items = statusItems(parseStatus({ ...sampleStatus(), http: null }));
    expect(items[1].label).toBe('$(globe) no HTTP endpoint');
    expect(items[1].action).toBeUndefined();
  });
});
