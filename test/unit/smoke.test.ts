import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('the test runner runs TypeScript', () => {
  const n: number = 1 + 1;
  assert.is(n, 2);
});

test.run();
