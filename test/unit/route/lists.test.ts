// List files (src/route/lists.ts): one entry a line, comments and blank lines skipped, errors naming file:line.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { addList, ListError } from '../../../src/route/lists.js';

function listFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-list-')), 'list.txt');
  writeFileSync(file, text);
  return file;
}

function entriesOf(file: string): { entries: string[]; count: number } {
  const entries: string[] = [];
  const count = addList(file, (text) => void entries.push(text));
  return { entries, count };
}

test('blank lines, whole-line and trailing comments, CRLF and spaces are skipped; the count is of entries', () => {
  const file = listFile('# direct networks\n\n192.0.2.0/24\r\n  198.51.100.0/24   # lab\n\t\n#2001:db8::/32\n2001:db8:1::/48');
  assert.deepEqual(entriesOf(file), { entries: ['192.0.2.0/24', '198.51.100.0/24', '2001:db8:1::/48'], count: 3 });
});

test('an empty file, or one of comments only, has no entries', () => {
  assert.deepEqual(entriesOf(listFile('')), { entries: [], count: 0 });
  assert.deepEqual(entriesOf(listFile('# nothing yet\n\n')), { entries: [], count: 0 });
  assert.deepEqual(entriesOf(listFile('\n\n\n')), { entries: [], count: 0 });
});

test('a missing or unreadable file: `file: cannot read: CODE`', () => {
  const missing = join(tmpdir(), 'sg-list-does-not-exist.txt');
  assert.throws(() => addList(missing, () => {}), (err: Error) => err instanceof ListError && err.message === `${missing}: cannot read: ENOENT`);
  const dir = mkdtempSync(join(tmpdir(), 'sg-list-'));
  assert.throws(() => addList(dir, () => {}), (err: Error) => err instanceof ListError && err.message === `${dir}: cannot read: EISDIR`);
});

test('the first entry `add` refuses is named by file and line, counting blank and comment lines', () => {
  const added: string[] = [];
  const add = (text: string) => {
    if (text.startsWith('bad')) throw new RangeError(`"${text}": not good`);
    added.push(text);
  };
  const file = listFile('ok\n# fine\n\nbad one # with a comment\nbad two\n');
  assert.throws(() => addList(file, add), (err: Error) => err instanceof ListError && err.message === `${file}:4: "bad one": not good`);
  assert.deepEqual(added, ['ok']);
  const last = listFile('a\r\nb\r\nbad last');
  assert.throws(() => addList(last, add), (err: Error) => err instanceof ListError && err.message === `${last}:3: "bad last": not good`);
});

test('anything but a RangeError from `add` is a bug, passed on as is', () => {
  const file = listFile('x\n');
  assert.throws(() => addList(file, () => { throw new TypeError('bug'); }), TypeError);
});
