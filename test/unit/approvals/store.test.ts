// Approval requests: quorum of distinct approvers per required group, self-approval refused,
// one rejection ends it, windows expire, replays and strangers are refused; retry-mode grants
// are used up and survive a restart.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GrantBook } from '../../../runtime/approvals/grants.ts';
import { ApprovalError, ApprovalStore, type NewRequest, type Requirement } from '../../../runtime/approvals/store.ts';

const rule = { id: 3, text: 'approve delete on public.* by "dba"', location: 'policy.pam:12:5' };
const req = (q: Partial<Requirement>[] = [{}], extra: Partial<NewRequest> = {}): NewRequest => ({
  mode: 'hold',
  target: 'db',
  session: 's1',
  requester: { subject: 'agent-1', groups: ['ops'], agent: 'crew' },
  sql: 'DELETE FROM orders',
  params: [],
  facts: [{ action: 'delete', resource: 'public.orders', unbounded: true }],
  fingerprint: 'fp1',
  requirements: q.map((x) => ({ group: 'dba', quorum: 1, withinSeconds: 60, mode: 'hold', uses: 1, rule, ...x })),
  ...extra,
});
const alice = { subject: 'alice', groups: ['dba'] };
const bob = { subject: 'bob', groups: ['dba'] };
const carol = { subject: 'carol', groups: ['security'] };

function refused(fn: () => unknown, status: number): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ApprovalError);
    assert.is((e as ApprovalError).status, status);
    return;
  }
  assert.unreachable('not refused');
}

test('one approver of the group approves a quorum-1 request', () => {
  const s = new ApprovalStore();
  const events: string[] = [];
  s.on('approved', () => events.push('approved'));
  const r = s.open(req());
  assert.is(r.status, 'pending');
  assert.match(r.id, /^apr_[A-Za-z0-9_-]{16}$/);
  s.decide(r.id, alice, 'approve', null);
  assert.is(r.status, 'approved');
  assert.equal(events, ['approved']);
});

test('a quorum of 2 needs two distinct approvers; the same one twice is a replay', () => {
  const s = new ApprovalStore();
  const r = s.open(req([{ quorum: 2 }]));
  s.decide(r.id, alice, 'approve', null);
  assert.is(r.status, 'pending');
  refused(() => s.decide(r.id, alice, 'approve', null), 409);
  s.decide(r.id, bob, 'approve', 'ok');
  assert.is(r.status, 'approved');
  refused(() => s.decide(r.id, bob, 'approve', null), 409);
});

test('every required group must reach its quorum', () => {
  const s = new ApprovalStore();
  const r = s.open(req([{ group: 'dba' }, { group: 'security' }]));
  s.decide(r.id, alice, 'approve', null);
  assert.is(r.status, 'pending');
  s.decide(r.id, carol, 'approve', null);
  assert.is(r.status, 'approved');
});

test('one approver holding both required groups meets both requirements with one decision (spec/approvals.md §1)', () => {
  const s = new ApprovalStore();
  const r = s.open(req([{ group: 'dba' }, { group: 'security' }]));
  s.decide(r.id, { subject: 'dave', groups: ['dba', 'security'] }, 'approve', null);
  assert.is(r.status, 'approved');
  // but not a quorum of two in one group: that takes two people
  const q = s.open(req([{ group: 'dba', quorum: 2 }, { group: 'security' }]));
  s.decide(q.id, { subject: 'dave', groups: ['dba', 'security'] }, 'approve', null);
  assert.is(q.status, 'pending');
  s.decide(q.id, alice, 'approve', null);
  assert.is(q.status, 'approved');
});

test('nobody approves their own request, even holding the group', () => {
  const s = new ApprovalStore();
  const r = s.open(req([{}], { requester: { subject: 'alice', groups: ['dba'], agent: null } }));
  refused(() => s.decide(r.id, alice, 'approve', null), 403);
  assert.is(r.status, 'pending');
});

test('strangers and unknown ids are refused', () => {
  const s = new ApprovalStore();
  const r = s.open(req());
  refused(() => s.decide(r.id, carol, 'approve', null), 403);
  refused(() => s.decide('apr_forged', alice, 'approve', null), 404);
  assert.equal(s.pendingFor(carol), []);
  assert.equal(s.pendingFor(alice).map((x) => x.id), [r.id]);
});

test('one rejection ends the request with its reason', () => {
  const s = new ApprovalStore();
  const r = s.open(req([{ quorum: 2 }]));
  s.decide(r.id, alice, 'approve', null);
  s.decide(r.id, bob, 'reject', 'not during the freeze');
  assert.is(r.status, 'rejected');
  assert.is(r.outcome, 'not during the freeze');
  refused(() => s.decide(r.id, { subject: 'dave', groups: ['dba'] }, 'approve', null), 409);
});

test('a request expires at the end of its shortest window', async () => {
  let now = 1_000_000;
  const s = new ApprovalStore(() => now);
  const r = s.open(req([{ withinSeconds: 60 }, { group: 'security', withinSeconds: 1 }]));
  assert.is(r.expiresAt, 1_000_000 + 1000);
  now += 1500;
  refused(() => s.decide(r.id, alice, 'approve', null), 409);
  assert.is(r.status, 'expired');
  const real = new ApprovalStore();
  const r2 = real.open(req([{ withinSeconds: 1 }]));
  const keepAlive = setTimeout(() => {}, 5000);
  await new Promise((res) => real.once('expired', res));
  clearTimeout(keepAlive);
  assert.is(r2.status, 'expired');
});

test('a withdrawn request cannot be approved afterwards', () => {
  const s = new ApprovalStore();
  const r = s.open(req());
  s.withdraw(r.id);
  assert.is(r.status, 'withdrawn');
  refused(() => s.decide(r.id, alice, 'approve', null), 409);
});

test('retry grants are used up, expire, and survive a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pamc-grants-'));
  let now = 5_000;
  const book = new GrantBook(dir, () => now);
  book.add({ request: 'apr_1', subject: 'agent-1', target: 'db', fingerprint: 'fp1', usesLeft: 2, expiresAt: 10_000 });
  assert.ok(book.consume('agent-1', 'db', 'fp1'));
  const again = new GrantBook(dir, () => now);
  assert.ok(again.consume('agent-1', 'db', 'fp1'), 'the second use, after a restart');
  assert.is(again.consume('agent-1', 'db', 'fp1'), null, 'used up');
  again.add({ request: 'apr_2', subject: 'agent-1', target: 'db', fingerprint: 'fp2', usesLeft: 5, expiresAt: 10_000 });
  assert.is(again.consume('agent-2', 'db', 'fp2'), null, 'another identity');
  assert.is(again.consume('agent-1', 'db', 'fp3'), null, 'another statement');
  now = 20_000;
  assert.is(new GrantBook(dir, () => now).consume('agent-1', 'db', 'fp2'), null, 'expired');
  rmSync(dir, { recursive: true, force: true });
});

test.run();
