// List files (src/route/lists.ts): one entry a line, comments and blank lines skipped, errors naming file:line.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { addEach, ListError, readList } from '../../../src/route/lists.js';

function listFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sg-list-')), 'list.txt');
  writeFileSync(file, text);
  return file;
}

test('entries keep their line numbers; blank lines, whole-line and trailing comments, CRLF and spaces are skipped', () => {
  const file = listFile('# direct networks\n\n192.0.2.0/24\r\n  198.51.100.0/24   # lab\n\t\n#2001:db8::/32\n2001:db8:1::/48');
  assert.deepEqual(readList(file), [
    { text: '192.0.2.0/24', line: 3 },
    { text: '198.51.100.0/24', line: 4 },
    { text: '2001:db8:1::/48', line: 7 },
  ]);
});

test('an empty file, or one of comments only, has no entries', () => {
  assert.deepEqual(readList(listFile('')), []);
  assert.deepEqual(readList(listFile('# nothing yet\n\n')), []);
});

test('a missing or unreadable file: `file: cannot read: CODE`', () => {
  const missing = join(tmpdir(), 'sg-list-does-not-exist.txt');
  assert.throws(() => readList(missing), (err: Error) => err instanceof ListError && err.message === `${missing}: cannot read: ENOENT`);
  const dir = mkdtempSync(join(tmpdir(), 'sg-list-'));
  assert.throws(() => readList(dir), (err: Error) => err instanceof ListError && err.message === `${dir}: cannot read: EISDIR`);
});

test('addEach names the file and line of the first entry `add` refuses', () => {
  const file = listFile('ok\n# fine\n\nbad one\nbad two\n');
  const added: string[] = [];
  const add = (text: string) => {
    if (text.startsWith('bad')) throw new RangeError(`"${text}": not good`);
    added.push(text);
  };
  assert.throws(() => addEach(file, readList(file), add), (err: Error) => err instanceof ListError && err.message === `${file}:4: "bad one": not good`);
  assert.deepEqual(added, ['ok']);
});
