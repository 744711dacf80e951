// Policy-syntax text for what the diff compares: conditions, entries, approvals, masks.

import type { ApprovalRequirement, CompiledCondition, MaskStrategy } from '../../spec/compiled-policy.ts';
import type { NamedEntry } from './tables.ts';

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const quote = (s: string) => JSON.stringify(s);

function time(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function days(list: number[]): string {
  if (list.length === 7) return '';
  // a run of consecutive days (Monday first, wrapping) reads as a range
  const order = [1, 2, 3, 4, 5, 6, 0];
  const set = new Set(list);
  for (let start = 0; start < 7; start++) {
    const run = Array.from({ length: list.length }, (_, i) => order[(start + i) % 7]);
    if (list.length > 2 && run.every((d) => set.has(d))) return `${DAY_NAMES[run[0]]}-${DAY_NAMES[run[run.length - 1]]}`;
  }
  return [...list].sort((a, b) => order.indexOf(a) - order.indexOf(b)).map((d) => DAY_NAMES[d]).join(', ');
}

export function formatDuration(seconds: number): string {
  const parts: string[] = [];
  let s = seconds;
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join('');
}

export function describeCondition(c: CompiledCondition): string {
  switch (c.kind) {
    case 'property':
      return `${c.negated ? 'not ' : ''}${c.property}`;
    case 'during': {
      const parts = ['during'];
      const d = days(c.days);
      if (d) parts.push(d);
      if (!(c.from === 0 && c.to === 1440)) parts.push(`${time(c.from)}-${time(c.to)}`);
      if (c.tz !== 'UTC') parts.push(`tz ${quote(c.tz)}`);
      return parts.join(' ');
    }
    case 'claim':
      if (c.values.length === 1) return `claim ${quote(c.claim)} ${c.op === 'in' ? '=' : '!='} ${quote(c.values[0])}`;
      return `claim ${quote(c.claim)} ${c.op} [${c.values.map(quote).join(', ')}]`;
  }
}

export function describeApproval(a: ApprovalRequirement): string {
  const parts = [`by ${quote(a.group)}`];
  if (a.quorum > 1) parts.push(`quorum ${a.quorum}`);
  parts.push(`within ${formatDuration(a.withinSeconds)}`);
  if (a.mode === 'retry') parts.push(`mode retry${a.uses > 1 ? ` uses ${a.uses}` : ''}`);
  return parts.join(' ');
}

export function describeEntry(e: NamedEntry): string {
  const parts: string[] = [e.effect];
  if (e.approval) parts.push(describeApproval(e.approval));
  if (e.when.length > 0) parts.push(`when ${[...e.when].sort((a, b) => describeCondition(a).localeCompare(describeCondition(b))).map(describeCondition).join(' and ')}`);
  return parts.join(' ');
}

/** What a group's entries say, `nothing` when it has none. */
export function describeEntries(entries: readonly NamedEntry[]): string {
  return entries.length === 0 ? 'nothing' : entries.map(describeEntry).join('; ');
}

export function describeStrategy(s: MaskStrategy | null): string {
  if (s === null) return 'not masked';
  return 'n' in s ? `${s.name}(${s.n})` : s.name;
}

export function describeGroup(group: string): string {
  return group === '*' ? 'every identity' : `group ${quote(group)}`;
}
