// A case's identity, target and time: the file's defaults overridden by the case
// (spec/testing.md §3), and the names in the case checked against the policy — an unknown
// target, approver group or rule location is a mistake in the test, reported as a diagnostic
// with a "did you mean" rather than as a failing case.

import { diagnostic, type Diagnostic } from '../../language/diagnostic.ts';
import type { ClaimValue, RuleRef, Setup, TestCase, TestFile, TestName } from '../../language/test-file-ast.ts';
import { didYouMean, nearest } from '../../compiler/suggest.ts';
import type { LoadedTarget } from '../../runtime/policy/load.ts';
import { refMatches } from './compare.ts';
import type { PolicyUnderTest } from './policies.ts';

/** When a case names no time: Wednesday 7 January 2026, 12:00 UTC (spec/testing.md §3). */
export const DEFAULT_INSTANT_TEXT = '2026-01-07T12:00:00Z';
export const DEFAULT_INSTANT = Date.UTC(2026, 0, 7, 12, 0, 0);

export interface CaseSetup {
  groups: string[];
  claims: Record<string, ClaimValue>;
  agent: string | null;
  target: LoadedTarget | null;
  at: number;
  diagnostics: Diagnostic[];
}

function targetName(n: TestName): string {
  return n.quoted ? n.value : n.value.toLowerCase();
}

function claimsOf(defaults: Setup | null, own: Setup): Record<string, ClaimValue> {
  const claims: Record<string, ClaimValue> = {};
  if (defaults && own.noClaims === undefined) {
    for (const c of defaults.claims) claims[c.name.value] = c.value;
  }
  for (const r of own.removedClaims) delete claims[r.value];
  for (const c of own.claims) claims[c.name.value] = c.value;
  return claims;
}

function checkRef(p: PolicyUnderTest, file: string, ref: RuleRef): Diagnostic | null {
  const compiled = p.compiled!;
  if (ref.kind === 'baseline') return null;
  if (compiled.rules.some((r) => refMatches(compiled, ref, r))) return null;
  const paths = compiled.sources.map((s) => s.path);
  if (!paths.includes(ref.file)) {
    return diagnostic('PAM5045', 'error', file, ref.span, `the policy has no file \`${ref.file}\``, {
      help: didYouMean(ref.file, paths) ?? `its files are ${paths.map((x) => `\`${x}\``).join(', ')} (paths relative to the policy's folder)`,
    });
  }
  const fileIndex = paths.indexOf(ref.file);
  const inFile = compiled.rules.filter((r) => r.source !== null && r.source.file === fileIndex);
  let best: (typeof inFile)[number] | undefined;
  for (const r of inFile) {
    if (!best || Math.abs(r.source!.line - ref.line) < Math.abs(best.source!.line - ref.line)) best = r;
  }
  const at = ref.column === null ? `${ref.file}:${ref.line}` : `${ref.file}:${ref.line}:${ref.column}`;
  const help = best
    ? `the nearest rule is \`${ref.file}:${best.source!.line}${ref.column === null ? '' : `:${best.source!.column}`}\`: \`${best.text}\``
    : `\`${ref.file}\` holds no rules`;
  return diagnostic('PAM5045', 'error', file, ref.span, `no rule of the policy starts at \`${at}\``, { help });
}

/** The setup a case runs with, and what in it does not resolve against the policy. */
export function caseSetup(p: PolicyUnderTest, file: TestFile, c: TestCase): CaseSetup {
  const loaded = p.loaded!;
  const compiled = p.compiled!;
  const defaults = file.defaults?.setup ?? null;
  const own = c.setup;
  const diagnostics: Diagnostic[] = [];
  const groups = (own.groups ?? defaults?.groups)?.values.map((g) => g.value) ?? [];
  const known = compiled.groups.slice(1);
  for (const g of (own.groups ?? defaults?.groups)?.values ?? []) {
    if (loaded.groupIndex.has(g.value)) continue;
    const near = nearest(g.value, known);
    if (near !== undefined) {
      diagnostics.push(
        diagnostic('PAM5044', 'warning', file.path, g.span, `the policy has no group \`${g.value}\``, { help: `did you mean \`${near}\`?` }),
      );
    }
  }
  let target: LoadedTarget | null = null;
  const named = own.target ?? defaults?.target;
  const targets = [...loaded.targets.keys()];
  if (named) {
    const name = targetName(named);
    target = loaded.targets.get(name) ?? null;
    if (target === null) {
      diagnostics.push(
        diagnostic('PAM5042', 'error', file.path, named.span, `the policy has no target \`${name}\``, {
          help: didYouMean(name, targets) ?? `its targets are ${targets.map((t) => `\`${t}\``).join(', ')}`,
        }),
      );
    }
  } else if (targets.length === 1) {
    target = loaded.targets.get(targets[0])!;
  } else {
    diagnostics.push(
      diagnostic('PAM5043', 'error', file.path, c.name.span, `case \`${c.name.value}\` names no target and the policy has ${targets.length === 0 ? 'none' : 'several'}`, {
        help: targets.length === 0 ? 'add a target to the policy' : `add \`target ${targets[0]}\` to the case or to \`defaults\` (targets: ${targets.join(', ')})`,
      }),
    );
  }
  if (c.expect?.effect === 'approve' && c.expect.approvers !== null) {
    for (const a of c.expect.approvers) {
      if (loaded.groupIndex.has(a.value)) continue;
      diagnostics.push(
        diagnostic('PAM5046', 'error', file.path, a.span, `the policy has no group \`${a.value}\` to approve`, {
          help: didYouMean(a.value, known) ?? `its groups are ${known.map((g) => `\`${g}\``).join(', ')}`,
        }),
      );
    }
  }
  for (const ref of c.rules?.refs ?? []) {
    const d = checkRef(p, file.path, ref);
    if (d) diagnostics.push(d);
  }
  return {
    groups,
    claims: claimsOf(defaults, own),
    agent: (own.agent ?? defaults?.agent)?.value ?? null,
    target,
    at: (own.at ?? defaults?.at)?.ms ?? DEFAULT_INSTANT,
    diagnostics,
  };
}
