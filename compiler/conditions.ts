// `when` clauses: statement properties, time windows and identity claims.

import type { Condition, DaySpec } from '../language/ast.ts';
import type { CompiledCondition } from '../spec/compiled-policy.ts';
import type { CompileContext } from './context.ts';
import { foldIdent } from './names.ts';
import { didYouMean } from './suggest.ts';

const PROPERTIES = ['unbounded', 'limited'] as const;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const LONG_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

function dayNumber(ctx: CompileContext, file: string, ident: { value: string; quoted: boolean; span: { start: number; end: number } }): number | null {
  const name = ident.value.toLowerCase();
  let n = DAYS.indexOf(name);
  if (n < 0) n = LONG_DAYS.indexOf(name);
  if (n >= 0) return n;
  ctx.error('PAM2012', file, ident.span, `unknown day \`${ident.value}\``, {
    help: didYouMean(name, DAYS) ?? 'days are mon, tue, wed, thu, fri, sat, sun',
  });
  return null;
}

function lowerDays(ctx: CompileContext, file: string, spec: DaySpec | undefined): number[] | null {
  if (!spec) return [0, 1, 2, 3, 4, 5, 6];
  if (spec.kind === 'DayList') {
    const days = spec.days.map((d) => dayNumber(ctx, file, d));
    if (days.some((d) => d === null)) return null;
    return [...new Set(days as number[])].sort((a, b) => a - b);
  }
  const from = dayNumber(ctx, file, spec.from);
  const to = dayNumber(ctx, file, spec.to);
  if (from === null || to === null) return null;
  const days: number[] = [];
  for (let d = from; ; d = (d + 1) % 7) {
    days.push(d);
    if (d === to) break;
  }
  return days.sort((a, b) => a - b);
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Lowers one condition; null after reporting an error. */
export function lowerCondition(ctx: CompileContext, file: string, c: Condition): CompiledCondition | null {
  switch (c.kind) {
    case 'Property': {
      const name = foldIdent(c.name);
      if (!(PROPERTIES as readonly string[]).includes(name)) {
        ctx.error('PAM2012', file, c.name.span, `unknown condition \`${name}\``, {
          help: didYouMean(name, [...PROPERTIES, 'during', 'claim']) ?? 'conditions are unbounded, limited, during …, claim …',
        });
        return null;
      }
      return { kind: 'property', property: name as (typeof PROPERTIES)[number], negated: c.negated };
    }
    case 'During': {
      if (!c.days && !c.from) {
        ctx.error('PAM2012', file, c.span, '`during` names no days and no time window', {
          help: 'write e.g. `during mon-fri 09:00-17:00 tz "Europe/Berlin"`',
        });
        return null;
      }
      const days = lowerDays(ctx, file, c.days);
      const tz = c.tz?.value ?? 'UTC';
      if (c.tz && !isTimeZone(tz)) {
        ctx.error('PAM2012', file, c.tz.span, `unknown time zone \`${tz}\``, { help: 'use an IANA name such as `Europe/Berlin` or `UTC`' });
        return null;
      }
      if (!days) return null;
      const from = c.from?.minutes ?? 0;
      const to = c.to?.minutes ?? 1440;
      if (from === to) {
        ctx.warn('PAM3002', file, c.span, 'this time window is empty, so the rule never applies', {
          help: 'write `00:00-24:00` for the whole day',
        });
      }
      if (from === 1440) {
        ctx.error('PAM2012', file, c.from!.span, 'a window cannot start at 24:00');
        return null;
      }
      return { kind: 'during', days, from, to, tz };
    }
    case 'Claim': {
      if (c.claim.value === '') {
        ctx.error('PAM2012', file, c.claim.span, 'the claim name is empty');
        return null;
      }
      const values = [...new Set(c.values.map((v) => v.value))].sort();
      const op = c.op === '=' || c.op === 'in' ? 'in' : 'not in';
      return { kind: 'claim', claim: c.claim.value, op, values };
    }
  }
}

/** Conditions that cannot hold together: the rule can never apply. Returns a reason, or null. */
export function contradiction(conditions: CompiledCondition[]): string | null {
  const props = new Map<string, boolean>();
  for (const c of conditions) {
    if (c.kind !== 'property') continue;
    const previous = props.get(c.property);
    if (previous !== undefined && previous !== c.negated) return `\`${c.property}\` and \`not ${c.property}\` cannot both hold`;
    props.set(c.property, c.negated);
  }
  const claims = new Map<string, { allowed: Set<string> | null; excluded: Set<string> }>();
  for (const c of conditions) {
    if (c.kind !== 'claim') continue;
    const state = claims.get(c.claim) ?? { allowed: null, excluded: new Set<string>() };
    if (c.op === 'in') {
      const next = new Set(c.values.filter((v) => state.allowed === null || state.allowed.has(v)));
      state.allowed = next;
    } else for (const v of c.values) state.excluded.add(v);
    claims.set(c.claim, state);
  }
  for (const [claim, state] of claims) {
    if (state.allowed && [...state.allowed].every((v) => state.excluded.has(v))) {
      return `no value of claim \`${claim}\` satisfies every condition on it`;
    }
  }
  return null;
}
