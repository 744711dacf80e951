// The principal: who is asking, reduced once per connection to what the decision function needs
// (a group bit mask, the truth of every claim condition, the row limit).

import type { LoadedCell, LoadedPolicy, LoadedTarget } from './load.ts';

export interface Identity {
  /** the token's `sub` */
  subject: string;
  /** the groups claim's values */
  groups: readonly string[];
  /** the agent claim's value, if the policy names one */
  agent: string | null;
  /** every claim of the token, for `claim` conditions */
  claims: Readonly<Record<string, unknown>>;
}

/** Condition states: fixed for the connection, or to be evaluated per statement. */
export const HOLDS = 1;
export const FAILS = 0;
/** a claim condition whose claim is missing or not a string: allow entries fail, deny and approve entries hold */
export const UNKNOWN = 2;
/** statement properties and time windows */
export const DYNAMIC = 3;

export interface Principal {
  identity: Identity;
  policy: LoadedPolicy;
  target: LoadedTarget;
  /** group bits, bit 0 (every identity) always set */
  mask: Uint32Array;
  /** one of HOLDS, FAILS, UNKNOWN, DYNAMIC per condition of the policy */
  conditionState: Uint8Array;
  limit: { rows: number; rule: number } | null;
  /** masks per relation key, resolved on first use */
  maskCache: Map<string, readonly import('./masks.ts').ColumnMask[]>;
  /** each table cell reduced to the entries of this principal's groups, on first use */
  cellCache: WeakMap<LoadedCell, LoadedCell>;
}

export function intersects(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if ((a[i] & b[i]) !== 0) return true;
  return false;
}

function claimValues(value: unknown): string[] | null {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
    return value.map((v) => String(v));
  }
  return null;
}

export function createPrincipal(policy: LoadedPolicy, target: LoadedTarget, identity: Identity): Principal {
  const mask = new Uint32Array(policy.words);
  mask[0] |= 1;
  for (const g of identity.groups) {
    const bit = policy.groupIndex.get(g);
    if (bit !== undefined && bit > 0) mask[bit >>> 5] |= 1 << (bit & 31);
  }
  const conditionState = new Uint8Array(policy.conditions.length);
  policy.conditions.forEach((c, i) => {
    if (c.kind !== 'claim') {
      conditionState[i] = DYNAMIC;
      return;
    }
    const raw = Object.hasOwn(identity.claims, c.claim) ? identity.claims[c.claim] : undefined;
    const values = raw === undefined || raw === null ? null : claimValues(raw);
    if (values === null) {
      conditionState[i] = UNKNOWN;
      return;
    }
    const any = values.some((v) => c.values.includes(v));
    conditionState[i] = (c.op === 'in' ? any : !any) ? HOLDS : FAILS;
  });
  let limit: Principal['limit'] = null;
  for (const l of target.limits) {
    if (intersects(l.mask, mask) && (limit === null || l.rows < limit.rows)) limit = { rows: l.rows, rule: l.rule };
  }
  return { identity, policy, target, mask, conditionState, limit, maskCache: new Map(), cellCache: new WeakMap() };
}
