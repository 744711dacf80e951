// The words of a denial: which fact, which rule (with its file:line:col), and what to do.

import type { Decision } from '../../policy/decide.ts';
import type { LoadedPolicy } from '../../policy/load.ts';
import type { ClassifiedStatement, Fact } from '../../sql/facts.ts';
import type { DenialText } from './denial.ts';

function describeFact(f: Fact): string {
  return f.resource === '' ? f.action : `${f.action} on ${f.resource}`;
}

function ruleRef(policy: LoadedPolicy, id: number): string {
  const r = policy.rules[id];
  const where = r.source ? `${policy.compiled.sources[r.source.file].path}:${r.source.line}:${r.source.column}` : 'baseline';
  return `rule ${where} \`${r.text}\``;
}

function formatWindow(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** The denial for a deny or approve decision. */
export function describeDenial(policy: LoadedPolicy, d: Decision, statements: readonly ClassifiedStatement[]): DenialText {
  const deciding = d.deciding;
  const detail = deciding && statements.length > 1 ? `statement ${deciding.statement + 1} of ${statements.length}; none of them ran` : undefined;
  if (d.effect === 'approve') {
    const a = d.approvals[0];
    const who = a ? `${a.approval.quorum > 1 ? `${a.approval.quorum} approvers` : 'an approver'} from "${a.approval.group}" within ${formatWindow(a.approval.withinSeconds)}` : 'an approver';
    return {
      message: `pamc: approval required: ${deciding ? describeFact(deciding.fact) : 'this statement'} needs ${who} (${a ? ruleRef(policy, a.rule) : 'approve rule'})`,
      ...(detail ? { detail } : {}),
      hint: 'this gateway does not hold statements for approval yet; ask an approver',
    };
  }
  if (!deciding) return { message: 'pamc: permission denied by policy' };
  if (deciding.reason === 'forbidden') {
    return { message: `pamc: refused: ${deciding.fact.detail ?? 'the statement cannot be checked'}`, ...(detail ? { detail } : {}) };
  }
  const rules = d.rules.map((r) => ruleRef(policy, r)).join('; ');
  if (deciding.note) {
    // a fact the statement needs without stating it: the note says why, the rules are its evidence
    return { message: `pamc: permission denied: ${describeFact(deciding.fact)}: ${deciding.note}${rules ? ` (${rules})` : ''}`, ...(detail ? { detail } : {}) };
  }
  if (deciding.reason === 'no_rule') {
    return {
      message: `pamc: permission denied: no rule allows ${describeFact(deciding.fact)}`,
      ...(detail ? { detail } : {}),
      hint: 'see `pamc explain` for how the policy decides this statement',
    };
  }
  return { message: `pamc: permission denied: ${describeFact(deciding.fact)} is denied by ${rules}`, ...(detail ? { detail } : {}) };
}
