// The syntax tree of a `.pamtest` file (spec/testing.md): the policy under test, the defaults
// every case starts from, and the cases. Like ast.ts it holds what was written, with offsets;
// nothing here is resolved against a policy (that is the runner's business).

import type { Span } from './diagnostic.ts';

export type { Span };

export interface TestString {
  /** the unescaped value */
  value: string;
  span: Span;
}

/** A name: an identifier as written, or a string's value. */
export interface TestName {
  value: string;
  /** written as a string: taken as is (an identifier folds to lower case where the policy folds) */
  quoted: boolean;
  span: Span;
}

/** A claim value: a string, a number, `true`/`false`, or an array of them. */
export type ClaimScalar = string | number | boolean;
export type ClaimValue = ClaimScalar | ClaimScalar[];

export interface ClaimSetting {
  name: TestString;
  value: ClaimValue;
  span: Span;
}

/** Who asks, where and when: what `defaults` holds and what a case may override. */
export interface Setup {
  /** `groups "a", "b"` (replaces the defaults' groups), or `no groups` (an empty list) */
  groups?: { values: TestString[]; span: Span };
  /** `claim "k" = v`, in order */
  claims: ClaimSetting[];
  /** `no claim "k"` */
  removedClaims: TestString[];
  /** `no claims`: start from no claims at all */
  noClaims?: Span;
  agent?: TestString;
  target?: TestName;
  /** `at "2026-11-25T10:00:00Z"`: milliseconds since the epoch */
  at?: { ms: number; text: string; span: Span };
}

export type DenyReason = 'no_rule' | 'forbidden';

export type ExpectedEffect =
  | { effect: 'allow'; span: Span }
  | { effect: 'deny'; reason: DenyReason | null; span: Span }
  | { effect: 'approve'; approvers: TestString[] | null; span: Span };

export type ExpectedStrategy =
  | { name: 'redact' | 'null' | 'hash' | 'email' }
  | { name: 'keep_first' | 'keep_last'; n: number };

export interface ExpectedMask {
  /** the relation key as the runtime writes it: `public.customers`, `public."Order Items"` */
  relation: string;
  /** the column as the policy names it (folded unless quoted), or `*` */
  column: string;
  strategy: ExpectedStrategy;
  span: Span;
}

/** A rule named by where it is written: `policy.pam:42` or `policy.pam:42:5`, or the baseline. */
export type RuleRef =
  | { kind: 'location'; file: string; line: number; column: number | null; text: string; span: Span }
  | { kind: 'baseline'; span: Span };

export interface TestSql {
  text: string;
  /** `string` for `"…"`, `fence` for ```…``` */
  form: 'string' | 'fence';
  span: Span;
}

export interface TestCase {
  kind: 'Case';
  name: TestString;
  setup: Setup;
  sql: TestSql | null;
  expect: ExpectedEffect | null;
  /** `masks …` (the exact set) or `no masks` (an empty set); absent: not checked */
  masks?: { masks: ExpectedMask[]; span: Span };
  /** `limit N`, or `no limit` (null rows); absent: not checked */
  limit?: { rows: number | null; span: Span };
  /** `rule "…", …`: the exact set of rules that decided */
  rules?: { refs: RuleRef[]; span: Span };
  span: Span;
}

export interface TestFile {
  kind: 'TestFile';
  path: string;
  /** `policy "…"`: a file or folder relative to the test file; null: the `.pam` files beside it */
  policy: TestString | null;
  defaults: { setup: Setup; span: Span } | null;
  cases: TestCase[];
  span: Span;
}

export function emptySetup(): Setup {
  return { claims: [], removedClaims: [] };
}
