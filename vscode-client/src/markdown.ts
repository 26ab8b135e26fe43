/** The plan as a Markdown document. */
import { type Plan, notFitting } from './protocol';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

export function planToMarkdown(plan: Plan): string {
  const r = plan.budget_report;
  const lines: string[] = [];
  lines.push(`# Context plan: ${plan.task}`, '');
  lines.push(`- **Folder:** ${code(plan.root)}`);
  lines.push(
    `- **Budget:** ${Math.round(r.estimated_used)} of ${Math.round(r.token_budget)} tokens, ` +
      `${plan.selected.length} of ${r.candidates_total} candidate files`,
  );
  const intent = plan.intent;
  const bits = [
    intent.kind && `kind ${code(intent.kind)}`,
    intent.identifiers.length > 0 && `identifiers ${intent.identifiers.map(code).join(', ')}`,
    intent.paths.length > 0 && `paths ${intent.paths.map(code).join(', ')}`,
    intent.keywords.length > 0 && `keywords ${intent.keywords.map(code).join(', ')}`,
  ].filter(Boolean);
  if (bits.length > 0) {
    lines.push(`- **Intent:** ${bits.join('; ')}`);
  }
  lines.push('', '## Selected files', '');
  if (plan.selected.length === 0) {
    lines.push('_No file was selected._');
  } else {
    lines.push('| # | File | Score | Tokens | Why |', '|---:|---|---:|---:|---|');
    plan.selected.forEach((f, i) => {
      lines.push(
        `| ${i + 1} | ${cell(code(f.rel_path))} | ${f.score.toFixed(2)} | ${Math.round(f.estimated_tokens)} | ${cell(
          f.reasons.join('; '),
        )} |`,
      );
    });
    for (const f of plan.selected) {
      if (f.symbols.length === 0) {
        continue;
      }
      lines.push('', `### ${f.rel_path}`, '');
      for (const s of f.symbols) {
        const range = s.start_line === s.end_line ? `line ${s.start_line}` : `lines ${s.start_line}–${s.end_line}`;
        lines.push(`- ${code(s.name)} (${s.kind}, ${range})${s.signature ? `: ${code(s.signature)}` : ''}`);
      }
    }
  }
  const rest = notFitting(plan);
  if (rest.length > 0) {
    lines.push('', '## Did not fit the budget', '');
    for (const f of rest) {
      lines.push(`- ${code(f.rel_path)} (${f.score.toFixed(2)})${f.reason ? `: ${f.reason}` : ''}`);
    }
  }
  if (plan.context.trim()) {
    lines.push('', '## Context', '', '---', '', plan.context.trimEnd());
  }
  return lines.join('\n') + '\n';
}
