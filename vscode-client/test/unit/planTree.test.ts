import { describe, expect, it } from 'vitest';
import * as vscode from 'vscode';
import {
  OPEN_LOCATION,
  PlanTreeProvider,
  type PlanNode,
  type ViewState,
  planSummary,
  stateNodes,
  toTreeItem,
} from '../../src/planTree';
import { parsePlan } from '../../src/protocol';
import { ROOT, samplePlan } from './fixtures';

function provider(state: ViewState): PlanTreeProvider {
  const p = new PlanTreeProvider();
  p.setState(state);
  return p;
}

describe('tree built from a plan', () => {
  const plan = parsePlan(samplePlan());
  const tree = provider({ kind: 'plan', plan });
  const top = tree.getChildren();

  it('has one node per selected file, in order, then a collapsed group of files that did not fit', () => {
    const items = top.map((n) => tree.getTreeItem(n));
    expect(items.map((i) => i.label)).toEqual([
      'src/billing/invoice.py',
      'tests/test_invoice.py',
      'Did not fit the budget (1)',
    ]);
    expect(items[2].collapsibleState).toBe(vscode.TreeItemCollapsibleState.Collapsed);
    expect(items[0].collapsibleState).toBe(vscode.TreeItemCollapsibleState.Expanded);
    expect(items[1].collapsibleState).toBe(vscode.TreeItemCollapsibleState.None);
  });

  it('shows score and tokens as description and the reasons as tooltip', () => {
    const item = tree.getTreeItem(top[0]);
    expect(item.description).toBe('0.91 · 412 tok');
    const tooltip = (item.tooltip as vscode.MarkdownString).value;
    expect(tooltip).toContain('- defines InvoiceCalculator.apply\\_discount');
    expect(tooltip).toContain('mentions "discount" 6 times');
    expect(tree.getTreeItem(top[1]).description).toBe('0.50 · 1,200 tok');
  });

  it('opens the file on click', () => {
    const item = tree.getTreeItem(top[0]);
    expect(item.command).toEqual({
      command: OPEN_LOCATION,
      title: 'Open',
      arguments: [`${ROOT}/src/billing/invoice.py`, undefined],
    });
    expect(item.resourceUri?.fsPath).toBe(`${ROOT}/src/billing/invoice.py`);
  });

  it('has the relevant symbols as children, with line ranges, opening at their range', () => {
    const children = tree.getChildren(top[0]);
    const items = children.map((n) => tree.getTreeItem(n));
    expect(items.map((i) => [i.label, i.description])).toEqual([
      ['InvoiceCalculator', 'L4–30'],
      ['apply_discount', 'L12–20'],
    ]);
    expect((items[1].iconPath as vscode.ThemeIcon).id).toBe('symbol-method');
    expect(items[1].tooltip).toBe('def apply_discount(self, amount, percent):\nmethod apply_discount');
    expect(items[1].command?.arguments).toEqual([`${ROOT}/src/billing/invoice.py`, { start: 12, end: 20 }]);
    expect(tree.getChildren(top[1])).toEqual([]);
  });

  it('shortens qualified symbol names and names the container', () => {
    const qualified = provider({
      kind: 'plan',
      plan: parsePlan(
        samplePlan({
          selected: [
            {
              rel_path: 'a.py',
              symbols: [
                { name: 'InvoiceCalculator.apply_discount', kind: 'method', start_line: 23, end_line: 26, signature: 'def apply_discount(self):' },
                { name: 'mod::Type::new', kind: 'function', start_line: 5, end_line: 5, signature: '' },
              ],
            },
          ],
        }),
      ),
    });
    const [file] = qualified.getChildren();
    const items = qualified.getChildren(file).map((n) => qualified.getTreeItem(n));
    expect(items.map((i) => [i.label, i.description])).toEqual([
      ['apply_discount', 'L23–26 · InvoiceCalculator'],
      ['new', 'L5 · mod::Type'],
    ]);
    expect(items[0].tooltip).toBe('def apply_discount(self):\nmethod InvoiceCalculator.apply_discount');
  });

  it('lists the dropped files under the group, each opening the file', () => {
    const dropped = tree.getChildren(top[2]).map((n) => tree.getTreeItem(n));
    expect(dropped.map((i) => [i.label, i.description])).toEqual([
      ['src/users/profile.py', '0.12 · over budget by 300 tokens'],
    ]);
    expect(dropped[0].command?.arguments?.[0]).toBe(`${ROOT}/src/users/profile.py`);
  });

  it('summarizes the plan above the tree', () => {
    expect(planSummary(plan)).toBe(
      '2 files · 1,612 / 4,000 tokens · “fix the discount rounding in InvoiceCalculator.apply_discount”',
    );
  });

  it('gives every item a unique id', () => {
    const all: PlanNode[] = [...top, ...top.flatMap((n) => tree.getChildren(n))];
    const ids = all.map((n) => toTreeItem(n).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('explains a plan with no selected file', () => {
    const empty = provider({ kind: 'plan', plan: parsePlan(samplePlan({ selected: [], dropped: [], ranked: [] })) });
    const items = empty.getChildren().map((n) => empty.getTreeItem(n));
    expect(items).toHaveLength(1);
    expect(items[0].label).toBe('No file fits this task.');
  });
});

describe('empty and error states', () => {
  const labels = (state: ViewState) =>
    stateNodes(state).map((n) => {
      const item = toTreeItem(n);
      return [item.label, item.command?.command];
    });

  it('leaves the idle state to the welcome view', () => {
    expect(stateNodes({ kind: 'idle' })).toEqual([]);
  });

  it('says what to do for each failure', () => {
    expect(labels({ kind: 'noWorkspace' })).toEqual([['No folder is open.', 'workbench.action.files.openFolder']]);
    expect(labels({ kind: 'serverNotRunning', detail: 'x' })).toEqual([
      ['The RTK server is not running.', 'rtk.restartServer'],
      ['Install rtk-lsp', 'rtk.installServer'],
      ['Set rtk.server.command or rtk.server.pythonPath', 'rtk.openServerSettings'],
      ['Show the server log', 'rtk.showLog'],
    ]);
    expect(labels({ kind: 'indexing', folder: 'shop', message: 'still indexing' })).toEqual([
      ['The index of shop is still being built.', undefined],
      ['Try again', 'rtk.rerun'],
    ]);
    expect(labels({ kind: 'error', task: 't', message: 'boom' })).toEqual([
      ['The plan request failed.', undefined],
      ['Try again', 'rtk.rerun'],
      ['Show the server log', 'rtk.showLog'],
    ]);
    expect(labels({ kind: 'error', task: 't', message: 'task: empty', invalidParams: true })[0][0]).toBe(
      'The server rejected the request.',
    );
    expect(labels({ kind: 'cancelled', task: 't' })[0][0]).toBe('Planning was cancelled.');
    expect(labels({ kind: 'planning', task: 't' })[0][0]).toBe('Planning…');
  });

  it('puts the failure message in the description and tooltip', () => {
    const [item] = stateNodes({ kind: 'error', task: 't', message: 'boom: KeyError' }).map(toTreeItem);
    expect(item.description).toBe('boom: KeyError');
    expect(item.tooltip).toBe('boom: KeyError');
  });
});
