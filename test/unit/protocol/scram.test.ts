// SCRAM-SHA-256 against RFC 7677's test vector and a fixed nonce; SASLprep; md5.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import {
  createScramClient,
  saslPrep,
  saslPrepPassword,
  md5PasswordHash,
  md5PasswordResponse,
  clearScramCache,
  type ProtocolError,
} from '../../../runtime/postgres/protocol/index.ts';

const buf = (s: string) => Buffer.from(s, 'utf8');

test('RFC 7677 test vector (user "user", password "pencil")', async () => {
  const c = createScramClient('pencil', { username: 'user', nonce: 'rOprNGfwEbeRWgbNEkqO', cache: false });
  assert.is(c.clientFirst.toString(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
  const final = await c.respond(buf('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
  assert.ok(Buffer.isBuffer(final));
  assert.is(
    (final as Buffer).toString(),
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  );
  assert.not.ok(c.verified);
  assert.is(c.verify(buf('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')), null);
  assert.ok(c.verified);
});

/** An independent computation of the client proof and server signature, from RFC 5802 §3. */
function reference(password: string, salt: Buffer, i: number, authMessage: string) {
  const salted = pbkdf2Sync(Buffer.from(password), salt, i, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const sig = createHmac('sha256', storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((x, k) => x ^ sig[k]!));
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return { proof: proof.toString('base64'), server: createHmac('sha256', serverKey).update(authMessage).digest('base64') };
}

test('PostgreSQL style: empty username, fixed nonce, exact messages', async () => {
  const nonce = 'fyko+d2lbbFgONRv9qkxdawL';
  const c = createScramClient('s3cr3t pass', { nonce, cache: false });
  assert.is(c.mechanism, 'SCRAM-SHA-256');
  assert.is(c.clientFirst.toString(), `n,,n=,r=${nonce}`);
  const serverFirst = `r=${nonce}3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096`;
  const final = (await c.respond(buf(serverFirst))) as Buffer;
  const withoutProof = `c=biws,r=${nonce}3rfcNHYJY1ZVvWVs7j`;
  const ref = reference('s3cr3t pass', Buffer.from('QSXCR+Q6sek8bf92', 'base64'), 4096, `n=,r=${nonce},${serverFirst},${withoutProof}`);
  assert.is(final.toString(), `${withoutProof},p=${ref.proof}`);
  assert.is(c.verify(buf(`v=${ref.server}`)), null);
  assert.ok(c.verified);
});

async function serverFirstFor(c: ReturnType<typeof createScramClient>, tail = ',s=QSXCR+Q6sek8bf92,i=4096') {
  const nonce = c.clientFirst.toString().split('r=')[1]!;
  return c.respond(buf(`r=${nonce}XYZ${tail}`));
}

test('a wrong server signature is an error, and the client is not verified', async () => {
  const c = createScramClient('pw', { cache: false });
  assert.ok(Buffer.isBuffer(await serverFirstFor(c)));
  const e = c.verify(buf(`v=${Buffer.alloc(32, 1).toString('base64')}`));
  assert.is(e?.code, 'scram-server-signature-mismatch');
  assert.not.ok(c.verified);
  // and cannot be retried
  assert.is(c.verify(buf('v=AAAA'))?.code, 'scram-invalid-server-message');
});

test('server errors and malformed server messages', async () => {
  const c1 = createScramClient('pw', { cache: false });
  await serverFirstFor(c1);
  const e1 = c1.verify(buf('e=invalid-proof'));
  assert.is(e1?.code, 'scram-server-error');
  assert.ok(e1?.message.includes('invalid-proof'));

  const c2 = createScramClient('pw', { cache: false });
  await serverFirstFor(c2);
  assert.is(c2.verify(buf('v=not base64!'))?.code, 'scram-invalid-server-message');

  const bad = async (serverFirst: (nonce: string) => string) => {
    const c = createScramClient('pw', { cache: false });
    const nonce = c.clientFirst.toString().split('r=')[1]!;
    const r = await c.respond(buf(serverFirst(nonce)));
    assert.not.ok(Buffer.isBuffer(r), serverFirst(nonce));
    assert.is((r as ProtocolError).kind, 'ProtocolError');
    assert.not.ok(c.verified);
    return r as ProtocolError;
  };
  await bad(() => 'r=someoneelse,s=QSXCR+Q6sek8bf92,i=4096'); // nonce does not extend ours
  await bad((n) => `r=${n},s=QSXCR+Q6sek8bf92,i=4096`); // nonce not extended at all
  await bad((n) => `m=ext,r=${n}x,s=QSXCR+Q6sek8bf92,i=4096`);
  await bad((n) => `r=${n}x,s=,i=4096`);
  await bad((n) => `r=${n}x,s=!!!!,i=4096`);
  await bad((n) => `r=${n}x,s=QSXCR+Q6sek8bf92,i=0`);
  await bad((n) => `r=${n}x,s=QSXCR+Q6sek8bf92,i=-1`);
  await bad((n) => `r=${n}x,s=QSXCR+Q6sek8bf92`);
  await bad((n) => `r=${n}x,s=QSXCR+Q6sek8bf92,i=4096,x=1`);
  await bad((n) => `s=QSXCR+Q6sek8bf92,r=${n}x,i=4096`);
  const tooMany = await bad((n) => `r=${n}x,s=QSXCR+Q6sek8bf92,i=2000000000`);
  assert.ok(tooMany.message.includes('limit'));

  // out of order use
  const c3 = createScramClient('pw', { cache: false });
  assert.is(c3.verify(buf('v=AAAA'))?.code, 'scram-invalid-server-message');
  const c4 = createScramClient('pw', { cache: false });
  await serverFirstFor(c4);
  const again = await serverFirstFor(c4);
  assert.is((again as ProtocolError).code, 'scram-invalid-server-message');
});

test('errors never contain the password or the proof', async () => {
  const password = 'correct horse battery staple';
  const c = createScramClient(password, { cache: false });
  const final = (await serverFirstFor(c)) as Buffer;
  const proof = final.toString().split('p=')[1]!;
  const e = c.verify(buf(`v=${Buffer.alloc(32).toString('base64')}`))!;
  assert.not.ok(e.message.includes(password));
  assert.not.ok(e.message.includes(proof));
});

test('the derived-key cache gives the same answer', async () => {
  clearScramCache();
  const nonce = 'abcdefghijklmnopqrstuvwx';
  const run = async () => {
    const c = createScramClient('cached pw', { nonce });
    return ((await c.respond(buf(`r=${nonce}SRV,s=QSXCR+Q6sek8bf92,i=4096`))) as Buffer).toString();
  };
  const first = await run();
  const second = await run();
  assert.is(first, second);
  const uncached = createScramClient('cached pw', { nonce, cache: false });
  assert.is(((await uncached.respond(buf(`r=${nonce}SRV,s=QSXCR+Q6sek8bf92,i=4096`))) as Buffer).toString(), first);
  const other = createScramClient('other pw', { nonce });
  assert.is.not(((await other.respond(buf(`r=${nonce}SRV,s=QSXCR+Q6sek8bf92,i=4096`))) as Buffer).toString(), first);
});

test('SASLprep (RFC 4013 examples and PostgreSQL rules)', () => {
  assert.is(saslPrep('I\u00ADX'), 'IX'); // soft hyphen mapped to nothing
  assert.is(saslPrep('user'), 'user');
  assert.is(saslPrep('USER'), 'USER');
  assert.is(saslPrep('\u00AA'), 'a'); // NFKC
  assert.is(saslPrep('\u2168'), 'IX'); // NFKC
  assert.is(saslPrep('a\u00A0b'), 'a b'); // non-ASCII space
  assert.is(saslPrep('a\u200Bb'), 'a b'); // zero width space is in C.1.2 too: PostgreSQL maps it to a space
  assert.is(saslPrep('\u0007'), '\u0007'); // pure ASCII: PostgreSQL does no processing at all
  assert.is(saslPrep('é\u0007'), null); // control character in a non-ASCII string: prohibited
  assert.is(saslPrep('\u0627\u0031'), null); // bidi: RandALCat first, not last
  assert.is(saslPrep('\u0627\u0031\u0628'), '\u0627\u0031\u0628');
  assert.is(saslPrep('\u0627a\u0628'), null); // RandALCat and LCat mixed
  assert.is(saslPrep('pass\uE000'), null); // private use
  assert.is(saslPrep('pass\uFFFE'), null); // non-character
  assert.is(saslPrep('caf\u0065\u0301'), 'caf\u00e9'); // NFKC composes
  // the bytes used for PBKDF2: prepared when possible, raw otherwise
  assert.is(saslPrepPassword('\u2168').toString(), 'IX');
  assert.is(saslPrepPassword('pass\uE000').toString('hex'), Buffer.from('pass\uE000').toString('hex'));
  assert.is(saslPrepPassword(Buffer.from([0xff, 0x41])).toString('hex'), 'ff41'); // not UTF-8: raw
  assert.is(saslPrepPassword(Buffer.from('\u2168')).toString(), 'IX');
});

test('md5 password hashing', () => {
  // md5("postgres" || "postgres") = 3175bce1d3201d16594cebf9d7eb3f9d
  assert.is(md5PasswordHash('postgres', 'postgres'), 'md53175bce1d3201d16594cebf9d7eb3f9d');
  // the response is md5(hex(inner) || salt), written out by hand here
  const salt = Buffer.from([0x01, 0x02, 0x03, 0x04]);
  const want = 'md5' + createHash('md5').update(Buffer.concat([Buffer.from('3175bce1d3201d16594cebf9d7eb3f9d'), salt])).digest('hex');
  assert.is(md5PasswordResponse('postgres', 'postgres', salt), want);
});

test.run();
