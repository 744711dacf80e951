// Pass 3: every rule of every `on` block, resolved against its target: actions expanded,
// resources turned into keys, conditions, approvals, masks and limits checked.

import type { AccessRule, Approval, LimitRule, MaskRule, Path, Rule, SetDecl, Span } from '../language/ast.ts';
import type { ApprovalRequirement, CompiledCondition, MaskStrategy } from '../spec/compiled-policy.ts';
import { contradiction, lowerCondition } from './conditions.ts';
import type { CompileContext, Located } from './context.ts';
import type { Declarations } from './declarations.ts';
import { foldIdent } from './names.ts';
import { resolveColumns, resolveResource, type ResolveScope } from './resources.ts';
import { didYouMean } from './suggest.ts';
import type { TargetInfo } from './targets.ts';
import { actionNames, expandAction, groupNames, resourceKindOf, unboundedActions } from './taxonomy.ts';

interface RuleBase {
  group: string | null;
  target: string;
  file: string;
  span: Span;
  /** order of appearance, for stable ids */
  order: number;
}

export interface ResolvedAccess extends RuleBase {
  kind: 'access';
  node: AccessRule;
  effect: 'allow' | 'deny' | 'approve';
  /** concrete action → resource keys */
  grants: Map<string, string[]>;
  when: CompiledCondition[];
  approval?: ApprovalRequirement;
}

export interface ResolvedMask extends RuleBase {
  kind: 'mask';
  node: MaskRule;
  columns: { relation: string; column: string }[];
  strategy: MaskStrategy;
}

export interface ResolvedLimit extends RuleBase {
  kind: 'limit';
  node: LimitRule;
  rows: number;
}

export type ResolvedRule = ResolvedAccess | ResolvedMask | ResolvedLimit;

const STRATEGIES = ['redact', 'null', 'hash', 'email', 'keep_first', 'keep_last'];
const MAX_QUORUM = 20;
const MAX_WINDOW_MS = 7 * 24 * 3600 * 1000;
const DEFAULT_WINDOW_MS = 15 * 60 * 1000;
const MAX_LIMIT_ROWS = 2 ** 31 - 1;

export function resolveRules(ctx: CompileContext, decls: Declarations, targets: Map<string, TargetInfo>): ResolvedRule[] {
  const out: ResolvedRule[] = [];
  const usedSets = new Set<string>();
  let order = 0;
  for (const { group, block, file } of decls.onBlocks) {
    const blockTargets: TargetInfo[] = [];
    for (const t of block.targets) {
      const name = foldIdent(t);
      const info = targets.get(name);
      if (info) blockTargets.push(info);
      else if (!decls.targets.has(name)) {
        ctx.error('PAM1007', file, t.span, `unknown target \`${name}\``, {
          help: didYouMean(name, decls.targets.keys()) ?? 'declare it with `target name: postgres { … }`',
        });
      }
      // a declared target that failed to lower has reported its own error
    }
    for (const rule of block.rules) {
      order++;
      for (const target of blockTargets) {
        const scope: ResolveScope = { ctx, file, sets: decls.sets, usedSets, searchPath: target.compiled.searchPath };
        const base = { group, target: target.name, file, span: rule.span, order };
        const resolved = resolveRule(ctx, decls, scope, target, rule, base);
        if (resolved) out.push(resolved);
      }
    }
  }
  reportUnusedSets(ctx, decls.sets, usedSets);
  return out;
}

function resolveRule(
  ctx: CompileContext,
  decls: Declarations,
  scope: ResolveScope,
  target: TargetInfo,
  rule: Rule,
  base: RuleBase,
): ResolvedRule | null {
  switch (rule.kind) {
    case 'Access':
      return resolveAccess(ctx, decls, scope, target, rule, base);
    case 'Mask':
      return resolveMask(ctx, scope, target, rule, base);
    case 'Limit':
      return resolveLimit(ctx, target, rule, base);
  }
}

function resolveAccess(
  ctx: CompileContext,
  decls: Declarations,
  scope: ResolveScope,
  target: TargetInfo,
  rule: AccessRule,
  base: RuleBase,
): ResolvedAccess | null {
  const { file } = base;
  let ok = true;
  const actions: string[] = [];
  for (const a of rule.actions) {
    const name = foldIdent(a);
    const expanded = expandAction(target.kind, name);
    if (!expanded) {
      ok = false;
      ctx.error('PAM2002', file, a.span, `\`${name}\` is not an action of ${target.kind} targets`, {
        help: didYouMean(name, [...actionNames(target.kind), ...groupNames(target.kind)]) ?? `see the ${target.kind} action table in spec/language.md`,
      });
      continue;
    }
    for (const e of expanded) if (!actions.includes(e)) actions.push(e);
  }

  const grants = new Map<string, string[]>();
  for (const action of actions) {
    const kind = resourceKindOf(target.kind, action);
    if (rule.resources.length === 0) {
      grants.set(action, ['*']);
      continue;
    }
    if (kind === 'none') {
      // `allow read, transaction on public.*`: the resources are for the other actions
      if (rule.actions.length === 1 && actions.length === 1) {
        ctx.error('PAM2007', file, rule.resources[0].span, `\`${action}\` takes no resource`);
        ok = false;
      }
      grants.set(action, ['*']);
      continue;
    }
    const keys: string[] = [];
    for (const r of rule.resources) {
      const k = resolveResource(scope, r, kind);
      if (k) keys.push(...k);
      else ok = false;
    }
    grants.set(action, [...new Set(keys)]);
    if (!ok) break; // one report per resource is enough
  }

  const when: CompiledCondition[] = [];
  for (const c of rule.conditions) {
    const lowered = lowerCondition(ctx, file, c);
    if (lowered) when.push(lowered);
    else ok = false;
  }
  const contra = contradiction(when);
  if (contra) ctx.warn('PAM3002', file, rule.span, `this rule never applies: ${contra}`);
  if (when.some((c) => c.kind === 'property' && c.property === 'unbounded' && !c.negated)) {
    const possible = unboundedActions(target.kind);
    if (!actions.some((a) => possible.includes(a))) {
      ctx.warn('PAM3002', file, rule.span, 'this rule never applies: only ' + possible.map((a) => `\`${a}\``).join(', ') + ' can be unbounded');
    }
  }

  let approval: ApprovalRequirement | undefined;
  if (rule.effect === 'approve') {
    if (!rule.approval) {
      ok = false;
      ctx.error('PAM2013', file, rule.effectSpan, 'an `approve` rule says who approves', { help: 'add `by "approver-group"`' });
    } else {
      approval = lowerApproval(ctx, decls, file, rule.approval) ?? undefined;
      if (!approval) ok = false;
    }
  } else if (rule.approval) {
    ok = false;
    ctx.error('PAM2013', file, rule.approval.span, `\`by\` only applies to \`approve\` rules`, {
      help: `write \`approve\` instead of \`${rule.effect}\`, or remove the approval`,
    });
  }

  if (rule.effect !== 'deny') warnNeverGranted(ctx, file, rule, grants);
  if (!ok) return null;
  return { kind: 'access', ...base, node: rule, effect: rule.effect, grants, when, approval };
}

/** Grants that can never take effect, or that reach secrets only an explicit name reaches. */
function warnNeverGranted(ctx: CompileContext, file: string, rule: AccessRule, grants: Map<string, string[]>): void {
  const b = ctx.builtins;
  for (const key of grants.get('set') ?? []) {
    if (b.textSettings.has(key)) {
      ctx.warn('PAM3003', file, rule.span, `\`${key}\` is never allowed: it changes how the server reads statement text`, {
        help: 'the gateway pins it so that its parser reads what the server runs',
      });
    }
  }
  const secrets = new Set([...(grants.get('select') ?? []), ...(grants.get('copy_out') ?? [])].filter((k) => b.secretRelations.has(k)));
  for (const key of secrets) {
    ctx.warn('PAM3004', file, rule.span, `this rule grants \`${key}\`, which holds secrets or other sessions' data`);
  }
}

function lowerApproval(ctx: CompileContext, decls: Declarations, file: string, a: Approval): ApprovalRequirement | null {
  let ok = true;
  const group = a.by.value;
  if (!decls.groups.has(group)) {
    ok = false;
    ctx.error('PAM1009', file, a.by.span, `approver group \`${group}\` is not declared`, {
      help: didYouMean(group, decls.groups.keys()) ?? `declare it, even without rules: \`group "${group}" { }\``,
    });
  }
  const quorum = a.quorum?.value ?? 1;
  if (a.quorum && (quorum < 1 || quorum > MAX_QUORUM)) {
    ok = false;
    ctx.error('PAM2013', file, a.quorum.span, `a quorum of \`${a.quorum.text}\` is out of range`, { help: `1 to ${MAX_QUORUM}` });
  }
  const withinMs = a.within?.ms ?? DEFAULT_WINDOW_MS;
  if (a.within && (withinMs < 1000 || withinMs > MAX_WINDOW_MS)) {
    ok = false;
    ctx.error('PAM2013', file, a.within.span, `a window of \`${a.within.text}\` is out of range`, { help: 'from 1s to 7d' });
  }
  let mode: 'hold' | 'retry' = 'hold';
  if (a.mode) {
    const m = foldIdent(a.mode);
    if (m === 'hold' || m === 'retry') mode = m;
    else {
      ok = false;
      ctx.error('PAM2013', file, a.mode.span, `unknown approval mode \`${m}\``, { help: didYouMean(m, ['hold', 'retry']) ?? 'hold or retry' });
    }
  }
  const uses = a.uses?.value ?? 1;
  if (a.uses) {
    if (mode !== 'retry') {
      ok = false;
      ctx.error('PAM2013', file, a.uses.span, '`uses` only applies to `mode retry`');
    } else if (uses < 1 || uses > 1000) {
      ok = false;
      ctx.error('PAM2013', file, a.uses.span, `\`uses ${a.uses.text}\` is out of range`, { help: '1 to 1000' });
    }
  }
  return ok ? { group, quorum, withinSeconds: Math.floor(withinMs / 1000), mode, uses } : null;
}

function resolveMask(ctx: CompileContext, scope: ResolveScope, target: TargetInfo, rule: MaskRule, base: RuleBase): ResolvedMask | null {
  const { file } = base;
  if (target.kind !== 'postgres') {
    ctx.error('PAM2003', file, rule.span, `masks apply to postgres targets; \`${target.name}\` is ${target.kind}`);
    return null;
  }
  let ok = true;
  const columns: { relation: string; column: string }[] = [];
  for (const path of rule.columns) {
    warnSchemaAsTable(ctx, file, path, target);
    const cols = resolveColumns(scope, path);
    if (cols) columns.push(...cols);
    else ok = false;
  }
  const strategy = lowerStrategy(ctx, file, rule, target);
  if (!strategy || !ok) return null;
  return { kind: 'mask', ...base, node: rule, columns, strategy };
}

/** `mask public.t` masks column `t` of a table named `public`, which is rarely what was meant. */
function warnSchemaAsTable(ctx: CompileContext, file: string, path: Path, target: TargetInfo): void {
  if (path.parts.length !== 2) return;
  const [first, second] = path.parts;
  if (first.kind !== 'Ident' || second.kind !== 'Ident') return;
  const schema = foldIdent(first);
  if (!target.compiled.searchPath.includes(schema) && schema !== 'pg_catalog') return;
  const column = foldIdent(second);
  ctx.warn('PAM3005', file, path.span, `this masks column \`${column}\` of a table named \`${schema}\``, {
    help: `to mask every column of table \`${schema}.${column}\`, write \`${schema}.${column}.*\``,
  });
}

function lowerStrategy(ctx: CompileContext, file: string, rule: MaskRule, target: TargetInfo): MaskStrategy | null {
  const s = rule.strategy;
  const name = foldIdent(s.name);
  if (!STRATEGIES.includes(name)) {
    ctx.error('PAM2009', file, s.name.span, `unknown mask strategy \`${name}\``, {
      help: didYouMean(name, STRATEGIES) ?? `one of ${STRATEGIES.join(', ')}`,
    });
    return null;
  }
  if (name === 'keep_first' || name === 'keep_last') {
    if (!s.argument) {
      ctx.error('PAM2009', file, s.span, `\`${name}\` needs the number of characters to keep`, { help: `write \`${name}(4)\`` });
      return null;
    }
    const n = s.argument.value;
    if (n < 1 || n > 1000) {
      ctx.error('PAM2009', file, s.argument.span, `\`${name}(${s.argument.text})\` is out of range`, { help: '1 to 1000' });
      return null;
    }
    return { name, n };
  }
  if (s.argument) {
    ctx.error('PAM2009', file, s.argument.span, `\`${name}\` takes no argument`);
    return null;
  }
  if (name === 'hash' && target.compiled.masking.hashKey === null) {
    ctx.error('PAM2011', file, s.span, `\`hash\` needs a key on target \`${target.name}\``, {
      help: 'add `masking { hash_key env "PAMC_HASH_KEY" }` to the target: an unkeyed hash of a short value is easy to reverse',
    });
    return null;
  }
  return { name } as MaskStrategy;
}

function resolveLimit(ctx: CompileContext, target: TargetInfo, rule: LimitRule, base: RuleBase): ResolvedLimit | null {
  if (target.kind !== 'postgres') {
    ctx.error('PAM2003', base.file, rule.span, `row limits apply to postgres targets; \`${target.name}\` is ${target.kind}`);
    return null;
  }
  const rows = rule.rows.value;
  if (!Number.isSafeInteger(rows) || rows < 1 || rows > MAX_LIMIT_ROWS) {
    ctx.error('PAM2006', base.file, rule.rows.span, `\`limit rows ${rule.rows.text}\` is out of range`, { help: `1 to ${MAX_LIMIT_ROWS}` });
    return null;
  }
  return { kind: 'limit', ...base, node: rule, rows };
}

function reportUnusedSets(ctx: CompileContext, sets: Map<string, Located<SetDecl>>, used: Set<string>): void {
  for (const [name, { node, file }] of sets) {
    if (!used.has(name)) {
      ctx.warn('PAM3001', file, node.name.span, `set \`${name}\` is never used`, { help: 'remove it, or use it in a rule' });
    }
  }
}
