// The statement record as an object, written the plain way: the reference the audit writer is
// held to. The writer writes a statement's JSON straight from its encoding (statement-codec.ts);
// tests hold its bytes to JSON.stringify of this object.

import { cut, LIMITS, paramValue, textCutOf } from '../../../runtime/audit/build.ts';
import type { RunInput, StatementInput } from '../../../runtime/audit/records.ts';

const short = (s: string): string => cut(s, LIMITS.string);

/** Items of a list past its record's `limit`. */
function omittedCount(length: number, limit: number): number {
  return Math.max(0, length - limit);
}

/** A list the record keeps up to `limit` items of, and the count of the rest; nothing when absent or empty. */
function kept<T, U>(list: readonly T[] | null | undefined, limit: number, map: (x: T) => U): { items?: U[]; omitted?: number } {
  if (list == null || list.length === 0) return {};
  return { items: list.slice(0, limit).map(map), omitted: omittedCount(list.length, limit) || undefined };
}

function runObject(r: RunInput): Record<string, unknown> {
  const truncated = textCutOf(r, LIMITS.runText);
  const params = r.params == null ? {} : { items: r.params.slice(0, LIMITS.params).map(paramValue), omitted: omittedCount(r.params.length, LIMITS.params) || undefined };
  const types = kept(r.paramTypes, LIMITS.params, (t) => t);
  return {
    text: truncated === null ? r.text : cut(r.text, LIMITS.runText),
    textTruncated: truncated ?? undefined,
    params: params.items,
    paramsOmitted: params.omitted,
    paramTypes: types.items,
    paramTypesOmitted: types.omitted,
  };
}

/** The statement record (without `seq` and `prev`), keys in the schema's order. */
export function statementObject(session: string, ts: string, s: StatementInput): Record<string, unknown> {
  const truncated = textCutOf(s);
  const text = truncated === null ? s.text : cut(s.text, LIMITS.text);
  const params = s.params ?? null;
  const facts = s.facts.length <= LIMITS.facts ? s.facts : s.facts.slice(0, LIMITS.facts);
  const masked = s.masked ?? null;
  const timing = s.timing ?? null;
  const types = kept(s.paramTypes, LIMITS.params, (t) => t);
  const runs = kept(s.runs, LIMITS.runs, runObject);
  return {
    ts,
    kind: 'statement',
    session,
    query: s.query,
    index: s.index,
    protocol: s.protocol,
    text,
    textTruncated: truncated ?? undefined,
    params: params === null ? undefined : params.slice(0, LIMITS.params).map(paramValue),
    paramsOmitted: params === null ? undefined : omittedCount(params.length, LIMITS.params) || undefined,
    paramTypes: types.items,
    paramTypesOmitted: types.omitted,
    runs: runs.items,
    runsOmitted: runs.omitted,
    fingerprint: s.fingerprint ?? undefined,
    facts: facts.map((f) => ({ action: f.action, resource: short(f.resource), unbounded: f.unbounded === true ? true : undefined })),
    factsOmitted: omittedCount(s.facts.length, LIMITS.facts) || undefined,
    decision: s.decision,
    rules: s.rules.slice(0, LIMITS.facts),
    approval: s.approval ?? undefined,
    outcome: s.outcome,
    rows: s.rows ? { returned: s.rows.returned, affected: s.rows.affected, command: s.rows.command } : undefined,
    masked: masked === null || masked.length === 0 ? undefined : masked.slice(0, LIMITS.masked).map(short),
    limit: s.limit ? { rows: s.limit.rows, rule: s.limit.rule, reached: s.limit.reached } : undefined,
    error: s.error ? { code: short(s.error.sqlstate), message: short(s.error.message) } : undefined,
    timing:
      timing === null
        ? undefined
        : {
            startedAt: timing.startedAt,
            decideUs: timing.decideUs,
            waitMs: timing.waitMs,
            executeMs: timing.executeMs,
            totalMs: timing.totalMs,
          },
  };
}

