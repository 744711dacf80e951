// Local day and minute in a time zone, for `during` conditions. Converting a time to a zone is
// costly, so each zone's answer is kept until the minute changes.

import type { CompiledCondition } from '../../spec/compiled-policy.ts';

interface ZoneMinute {
  /** start and end (exclusive) of the UTC minute this answer is valid for */
  from: number;
  until: number;
  day: number;
  minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const cache = new Map<string, ZoneMinute>();
const DAY_NUMBERS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function zoneMinute(tz: string, now: number): ZoneMinute {
  const cached = cache.get(tz);
  if (cached && now >= cached.from && now < cached.until) return cached;
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of f.formatToParts(now)) {
    if (part.type === 'weekday') day = DAY_NUMBERS[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  const from = now - (now % 60000);
  const z = { from, until: from + 60000, day, minute: hour * 60 + minute };
  cache.set(tz, z);
  return z;
}

/** Whether `now` falls in the window. A window whose start is after its end wraps past midnight. */
export function duringHolds(c: Extract<CompiledCondition, { kind: 'during' }>, now: number): boolean {
  const { day, minute } = zoneMinute(c.tz, now);
  if (c.from <= c.to) return c.days.includes(day) && minute >= c.from && minute < c.to;
  // 22:00-06:00: the evening belongs to the named day, the early morning to the day after it.
  if (minute >= c.from) return c.days.includes(day);
  if (minute < c.to) return c.days.includes((day + 6) % 7);
  return false;
}
