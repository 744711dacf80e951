// Pass 1: collect the declarations of every file into one namespace, reporting duplicates.
// Names are global to the policy, whichever file declares them.

import type { ApprovalsBlock, AuditBlock, GroupBlock, IdentityBlock, OnBlock, PolicyDecl, SetDecl, TargetDecl } from '../language/ast.ts';
import type { CompileContext, Located } from './context.ts';
import { foldIdent } from './names.ts';

export interface OnBlockInGroup {
  /** the identity group, or null for a top-level block (every identity) */
  group: string | null;
  block: OnBlock;
  file: string;
}

export interface Declarations {
  policy: Located<PolicyDecl> | null;
  identity: Located<IdentityBlock> | null;
  /** by folded name */
  targets: Map<string, Located<TargetDecl>>;
  /** by folded name */
  sets: Map<string, Located<SetDecl>>;
  /** identity groups declared by `group` blocks (a group may have several blocks) */
  groups: Map<string, Located<GroupBlock>[]>;
  onBlocks: OnBlockInGroup[];
  /** the `audit` block (at most one per policy) */
  audit: Located<AuditBlock> | null;
  /** the `approvals` block (at most one per policy) */
  approvals: Located<ApprovalsBlock> | null;
}

export function collectDeclarations(ctx: CompileContext): Declarations {
  const decls: Declarations = {
    policy: null,
    identity: null,
    targets: new Map(),
    sets: new Map(),
    groups: new Map(),
    onBlocks: [],
    audit: null,
    approvals: null,
  };
  for (const { path: file, ast } of ctx.files) {
    for (const item of ast.items) {
      switch (item.kind) {
        case 'Policy':
          if (decls.policy) {
            ctx.error('PAM1002', file, item.span, 'a policy has one `policy` header', {
              related: [{ file: decls.policy.file, span: decls.policy.node.span, message: 'first header here' }],
              help: 'remove this header; the files of a folder form one policy',
            });
          } else decls.policy = { node: item, file };
          break;
        case 'Identity':
          if (decls.identity) {
            ctx.error('PAM1004', file, item.span, 'a policy has one `identity` block', {
              related: [{ file: decls.identity.file, span: decls.identity.node.span, message: 'first identity block here' }],
            });
          } else decls.identity = { node: item, file };
          break;
        case 'Target': {
          const name = foldIdent(item.name);
          const previous = decls.targets.get(name);
          if (previous) {
            ctx.error('PAM1005', file, item.name.span, `target \`${name}\` is defined twice`, {
              related: [{ file: previous.file, span: previous.node.name.span, message: 'first defined here' }],
            });
          } else decls.targets.set(name, { node: item, file });
          break;
        }
        case 'Set': {
          const name = foldIdent(item.name);
          const previous = decls.sets.get(name);
          if (previous) {
            ctx.error('PAM1006', file, item.name.span, `set \`${name}\` is defined twice`, {
              related: [{ file: previous.file, span: previous.node.name.span, message: 'first defined here' }],
            });
          } else if (ctx.builtins.sets.has(name)) {
            ctx.error('PAM1010', file, item.name.span, `set \`${name}\` would hide the built-in set of that name`, {
              help: 'choose another name',
            });
          } else decls.sets.set(name, { node: item, file });
          break;
        }
        case 'Group': {
          const name = item.name.value;
          if (name.trim() === '' || name === '*') {
            ctx.error('PAM1013', file, item.name.span, name === '*' ? '`*` is not a group name' : 'a group name is empty', {
              help: 'rules for every identity go in a top-level `on target { … }` block',
            });
            continue;
          }
          const list = decls.groups.get(name) ?? [];
          list.push({ node: item, file });
          decls.groups.set(name, list);
          for (const block of item.blocks) decls.onBlocks.push({ group: name, block, file });
          break;
        }
        case 'On':
          decls.onBlocks.push({ group: null, block: item, file });
          break;
        case 'Audit':
          if (decls.audit) {
            ctx.error('PAM1014', file, item.span, 'a policy has one `audit` block', {
              related: [{ file: decls.audit.file, span: decls.audit.node.span, message: 'first audit block here' }],
            });
          } else decls.audit = { node: item, file };
          break;
        case 'Approvals':
          if (decls.approvals) {
            ctx.error('PAM1015', file, item.span, 'a policy has one `approvals` block', {
              related: [{ file: decls.approvals.file, span: decls.approvals.node.span, message: 'first approvals block here' }],
            });
          } else decls.approvals = { node: item, file };
          break;
      }
    }
  }
  const first = ctx.files[0];
  if (!decls.policy && first) {
    ctx.error('PAM1001', first.path, { start: 0, end: 0 }, 'the policy has no `policy` header', {
      help: 'start one file with `policy "name"`',
    });
  }
  if (!decls.identity && first) {
    ctx.error('PAM1003', first.path, { start: 0, end: 0 }, 'the policy has no `identity` block', {
      help: 'add `identity { issuer "…" audience "…" jwks file "…" }` so the gateway can verify tokens',
    });
  }
  return decls;
}
