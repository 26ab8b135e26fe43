import { describe, expect, it } from 'vitest';
import {
  buildPlanParams,
  classifyPlanError,
  notFitting,
  parsePlan,
  parseStatus,
  summarizeStatus,
} from '../../src/protocol';
import { samplePlan, sampleStatus } from './fixtures';

describe('buildPlanParams', () => {
  it('trims the task and keeps only known, valid fields', () => {
    expect(
      buildPlanParams({ task: '  fix it  ', budget: 2500.7, workspace: 'file:///w', uri: 'file:///w/a.py' }),
    ).toEqual({ task: 'fix it', budget: 2500, workspace: 'file:///w', uri: 'file:///w/a.py' });
    expect(buildPlanParams({ task: 'x', budget: 0 })).toEqual({ task: 'x' });
    expect(buildPlanParams({ task: 'x', budget: Number.NaN, detail: 'content' })).toEqual({ task: 'x', detail: 'content' });
  });

  it('refuses an empty task', () => {
    expect(() => buildPlanParams({ task: '   ' })).toThrow(/empty/);
  });
});

describe('parsePlan', () => {
  it('reads a full plan and ignores unknown keys', () => {
    const plan = parsePlan(samplePlan());
    expect(plan.selected.map((f) => f.rel_path)).toEqual(['src/billing/invoice.py', 'tests/test_invoice.py']);
    expect(plan.selected[0].symbols[1]).toEqual({
      name: 'apply_discount',
      kind: 'method',
      start_line: 12,
      end_line: 20,
      signature: 'def apply_discount(self, amount, percent):',
    });
    expect(plan.budget_report.token_budget).toBe(4000);
    expect(plan.selected[1]).not.toHaveProperty('unknown_key');
  });

  it('fills missing parts with empty values and repairs line ranges', () => {
    const plan = parsePlan({
      task: 't',
      selected: [{ rel_path: 'a.py', symbols: [{ name: 'f', start_line: 9, end_line: 3 }, { kind: 'x' }] }, { score: 1 }],
    });
    expect(plan.selected).toHaveLength(1);
    expect(plan.selected[0].symbols).toEqual([{ name: 'f', kind: '', start_line: 9, end_line: 9, signature: '' }]);
    expect(plan.dropped).toEqual([]);
    expect(plan.context).toBe('');
    expect(plan.budget_report.candidates_selected).toBe(1);
  });

  it('throws on something that is not a plan', () => {
    expect(() => parsePlan(null)).toThrow(/no plan/);
    expect(() => parsePlan([1])).toThrow(/no plan/);
  });
});

describe('notFitting', () => {
  it('uses dropped when given, else ranked files that were not selected', () => {
    const plan = parsePlan(samplePlan());
    expect(notFitting(plan).map((f) => f.rel_path)).toEqual(['src/users/profile.py']);
    const noDropped = parsePlan(samplePlan({ dropped: [] }));
    expect(notFitting(noDropped)).toEqual([
      { rel_path: 'src/users/profile.py', score: 0.12, reason: 'did not fit the budget' },
    ]);
  });
});

describe('status', () => {
  it('parses and summarizes', () => {
    const status = parseStatus(sampleStatus('indexing'));
    expect(status.http).toEqual({ url: 'http://127.0.0.1:43210' });
    expect(summarizeStatus(status)).toEqual({ kind: 'indexing', files: 5, folders: 1 });
    expect(summarizeStatus(parseStatus(sampleStatus('ready')))).toEqual({ kind: 'ready', files: 5 });
    expect(summarizeStatus(parseStatus(sampleStatus('failed')))).toMatchObject({ kind: 'failed' });
    expect(summarizeStatus(parseStatus({ version: '1', http: null, folders: [] }))).toEqual({ kind: 'empty' });
  });

  it('treats a missing http endpoint as null', () => {
    expect(parseStatus({ version: '1', folders: [] }).http).toBeNull();
  });
});

describe('classifyPlanError', () => {
  it('recognises the server errors of the protocol', () => {
    expect(classifyPlanError({ code: -32602, message: 'task: must not be empty' })).toEqual({
      kind: 'invalidParams',
      message: 'task: must not be empty',
    });
    expect(classifyPlanError({ code: -32603, message: 'folder /w is still indexing (12 files so far)' }).kind).toBe(
      'indexing',
    );
    expect(classifyPlanError({ code: -32603, message: 'boom' }).kind).toBe('failed');
    expect(classifyPlanError({ code: -32800, message: 'Request cancelled' }).kind).toBe('cancelled');
    expect(classifyPlanError(new Error('')).message).toBe('Unknown error.');
  });
});
