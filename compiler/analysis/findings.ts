// The other findings of the analysis (spec/diff.md §4):
//
// PAM4003 an action a rule names explicitly but can never apply to: `when unbounded` with an
//         action whose facts are never unbounded, beside actions that can be (PAM3002 covers
//         the rule none of whose actions can be).
// PAM4004 (info) a deny for one group and an allow for another on the same resource, both named
//         exactly (not through a wildcard): an identity holding both groups is denied. pamc cannot
//         know which groups the identity provider hands out together; naming the same key in both
//         rules is the sign that someone thought about that resource for both.
// PAM4005 a mask on a relation no allow or approve lets anyone read: it never applies (a typo in
//         the relation's name, or a rule that no longer exists).
// PAM4006 an approve rule whose approvers are the group the rule is for: since nobody approves
//         their own request, members approve each other's statements.

import type { AccessRule, OnBlock, PolicyFile } from '../../language/ast.ts';
import type { Diagnostic } from '../../language/diagnostic.ts';
import { diagnostic } from '../../language/diagnostic.ts';
import type { CompiledPolicy } from '../../spec/compiled-policy.ts';
import type { BuiltinData } from '../builtins.ts';
import { isInherited, resolveCell } from '../diff/tables.ts';
import { foldIdent } from '../names.ts';
import { actionNames, unboundedActions } from '../taxonomy.ts';
import { locate, relatedRules, rulesBySpan, type Occurrence } from './occurrences.ts';

/** Every `on` block of a file with the group it belongs to. */
function onBlocks(file: PolicyFile): { group: string | null; block: OnBlock }[] {
  const out: { group: string | null; block: OnBlock }[] = [];
  for (const item of file.items) {
    if (item.kind === 'On') out.push({ group: null, block: item });
    else if (item.kind === 'Group') for (const b of item.blocks) out.push({ group: item.name.value, block: b });
  }
  return out;
}

export function unboundedActionsNamed(policy: CompiledPolicy, files: { path: string; ast: PolicyFile }[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const f of files) {
    for (const { block } of onBlocks(f.ast)) {
      const kinds = [...new Set(block.targets.map((t) => policy.targets[foldIdent(t)]?.kind).filter((k) => k !== undefined))];
      if (kinds.length === 0) continue;
      for (const rule of block.rules) {
        if (rule.kind !== 'Access' || !requiresUnbounded(rule)) continue;
        for (const kind of kinds) {
          const concrete = new Set(actionNames(kind));
          const possible = new Set(unboundedActions(kind));
          const named = rule.actions.map((a) => ({ a, name: foldIdent(a) }));
          // a group name (`write`, `all`) is a shorthand, not a claim about each member
          if (!named.some(({ name }) => possible.has(name) || !concrete.has(name))) continue;
          for (const { a, name } of named) {
            if (!concrete.has(name) || possible.has(name)) continue;
            out.push(
              diagnostic('PAM4003', 'warning', f.path, a.span, `\`${name}\` is never unbounded, so this rule never applies to it`, {
                help: `only ${[...possible].map((p) => `\`${p}\``).join(', ')} can be unbounded; give \`${name}\` a rule of its own`,
              }),
            );
          }
          break;
        }
      }
    }
  }
  return out;
}

function requiresUnbounded(rule: AccessRule): boolean {
  return rule.conditions.some((c) => c.kind === 'Property' && !c.negated && foldIdent(c.name) === 'unbounded');
}

const isExact = (key: string) => key !== '*' && !key.endsWith('*');

export function conflicts(policy: CompiledPolicy, builtins: BuiltinData): Diagnostic[] {
  // deny rule → the allow rules and groups it overrides on exact keys both name
  const found = new Map<number, { allows: Set<number>; groups: Set<string>; keys: Map<string, Set<string>> }>();
  const several = Object.keys(policy.targets).length > 1;
  for (const [name, t] of Object.entries(policy.targets)) {
    for (const [action, byKey] of Object.entries(t.actions)) {
      for (const [key, cell] of Object.entries(byKey)) {
        if (!isExact(key) || !cell.deny || !cell.allow) continue;
        const own = (effect: 'deny' | 'allow') =>
          (cell[effect] ?? []).filter((e) => !isInherited(builtins, t, action, key, effect, e.rule) && policy.rules[e.rule].source !== null);
        for (const d of own('deny')) {
          const denied = policy.rules[d.rule].group;
          if (denied === null) continue;
          for (const a of own('allow')) {
            const allowed = policy.rules[a.rule].group;
            if (allowed === null || allowed === denied) continue;
            const f = found.get(d.rule) ?? { allows: new Set(), groups: new Set(), keys: new Map() };
            f.allows.add(a.rule);
            f.groups.add(allowed);
            const shown = several ? `${key}\` on \`${name}` : key;
            f.keys.set(shown, (f.keys.get(shown) ?? new Set()).add(action));
            found.set(d.rule, f);
          }
        }
      }
    }
  }
  const out: Diagnostic[] = [];
  const reported = new Set<string>();
  for (const [rule, f] of [...found].sort((a, b) => a[0] - b[0])) {
    const r = policy.rules[rule];
    const at = locate(policy, r)!;
    const spanKey = `${at.file}:${at.span.start}`;
    if (reported.has(spanKey)) continue;
    reported.add(spanKey);
    const others = [...f.groups].sort();
    const keys = [...f.keys.keys()].sort();
    const actions = [...f.keys.get(keys[0])!].map((a) => `\`${a}\``).join(', ');
    const more = keys.length > 1 ? ` (and ${keys.length - 1} more)` : '';
    out.push(
      diagnostic(
        'PAM4004',
        'info',
        at.file,
        at.span,
        `\`${r.group}\` is denied ${actions} on \`${keys[0]}\`${more}, which ${others.map((g) => `\`${g}\``).join(', ')} ${others.length > 1 ? 'are' : 'is'} allowed: an identity in both groups is denied`,
        {
          help: "deny beats allow across all of an identity's groups (spec/language.md §5.3); if members of both should have it, narrow the deny",
          related: relatedRules(policy, f.allows, (x) => `allowed for \`${x.group}\` here`),
        },
      ),
    );
  }
  return out;
}

export function unreadableMasks(policy: CompiledPolicy): Diagnostic[] {
  const out: Diagnostic[] = [];
  const readable = (target: string, relation: string) => {
    const t = policy.targets[target];
    return ['select', 'copy_out'].some((action) => {
      const found = resolveCell(t, action, relation);
      if (!found) return false;
      const blocked = (found.cell.deny ?? []).some((e) => e.groups.includes(0) && !e.when);
      return !blocked && ((found.cell.allow ?? []).length > 0 || (found.cell.approve ?? []).length > 0);
    });
  };
  for (const compiled of rulesBySpan(policy)) {
    if (compiled[0].effect !== 'mask') continue;
    const unread = new Set<string>();
    let anyRead = false;
    for (const r of compiled) {
      for (const [relation, byColumn] of Object.entries(policy.targets[r.target].masks)) {
        if (!Object.values(byColumn).some((entries) => entries.some((e) => e.rule === r.id))) continue;
        if (readable(r.target, relation)) anyRead = true;
        else unread.add(relation);
      }
    }
    if (unread.size === 0) continue;
    const at = locate(policy, compiled[0])!;
    const names = [...unread].sort().map((n) => `\`${n}\``);
    out.push(
      diagnostic(
        'PAM4005',
        'warning',
        at.file,
        at.span,
        `no rule lets anyone read ${names.join(', ')}, so this mask never applies${anyRead ? ' there' : ''}`,
        { help: 'check the relation\'s name (`pamc check --schema` compares it with the database); masks follow reads, including through views' },
      ),
    );
  }
  return out;
}

export function selfApprovals(policy: CompiledPolicy, occurrences: Map<number, Occurrence[]>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const compiled of rulesBySpan(policy)) {
    const r = compiled[0];
    if (r.effect !== 'approve' || r.group === null) continue;
    const approvers = new Set<string>();
    for (const c of compiled) for (const o of occurrences.get(c.id) ?? []) if (o.entry.approval) approvers.add(o.entry.approval.group);
    if (!approvers.has(r.group)) continue;
    const at = locate(policy, r)!;
    out.push(
      diagnostic('PAM4006', 'warning', at.file, at.span, `\`${r.group}\` approves its own statements: its members approve each other's`, {
        help: 'nobody approves their own request, so this takes a second member of the same group; name a separate approver group',
      }),
    );
  }
  return out;
}
