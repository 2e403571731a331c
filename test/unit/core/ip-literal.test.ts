import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { isIP, isIPv4, isIPv6 } from '../../../src/core/ip-literal.js';

function agreesWithNode(text: string): void {
  assert.equal(isIPv4(text), net.isIPv4(text), `isIPv4(${JSON.stringify(text)})`);
  assert.equal(isIPv6(text), net.isIPv6(text), `isIPv6(${JSON.stringify(text)})`);
  assert.equal(isIP(text), net.isIP(text), `isIP(${JSON.stringify(text)})`);
}

test('fixed literals read as node:net reads them', () => {
  const cases = [
    '', '0.0.0.0', '127.0.0.1', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4\n', '١.2.3.4',
    '::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7::', '::1:2:3:4:5:6:7', '::1:2:3:4:5:6:7:8', '1::2:3:4:5:6:7',
    '1::2:3:4:5:6:7:8', ':::', '1:::2', '1::2::3', ':1::', '1:2:3:4:5:6:7:', ':1:2:3:4:5:6:7:8', '12345::', 'fFfF::', 'g::',
    '::ffff:1.2.3.4', '::1.2.3.4', '1.2.3.4::', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', '1:2:3:4:5::1.2.3.4', '1:2:3:4:5:6::1.2.3.4', '::1.2.3.4:1',
    '1:2:3:4:5:1.2.3.4', '::01.2.3.4', '::256.0.0.0', 'fe80::1%eth0', 'fe80::1%', 'fe80::1%e%0', 'fe80::1%a-b.c:d', 'fe80::1%a_b', '%eth0', '1.2.3.4%eth0',
    'example.com', 'localhost', '[::1]', '::1/128',
  ];
  for (const text of cases) agreesWithNode(text);
});

test('random strings, and addresses with one character changed, read as node:net reads them', () => {
  let seed = 12345;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const alphabet = '0123456789abcdefABCDEFgG:.%-_ ';
  const pick = (chars: string) => chars[random(chars.length)]!;
  for (let i = 0; i < 20_000; i++) {
    let text = '';
    for (let n = random(24); n > 0; n--) text += pick(alphabet);
    agreesWithNode(text);
  }
  const hexGroup = () => random(0x10000).toString(16).slice(0, 1 + random(4));
  const v4 = () => Array.from({ length: 4 }, () => String(random(300))).join('.');
  for (let i = 0; i < 20_000; i++) {
    const groups = Array.from({ length: 8 }, hexGroup);
    if (random(3) === 0) groups.splice(6, 2, v4());
    // Compress a random run of groups (maybe none) into '::', and maybe add a zone.
    const from = random(groups.length + 1);
    const to = from + random(groups.length - from + 1);
    let text = random(4) === 0 ? groups.join(':') : `${groups.slice(0, from).join(':')}::${groups.slice(to).join(':')}`;
    if (random(5) === 0) text += `%${pick('eth0:.-_%')}${random(10)}`;
    agreesWithNode(text);
    const at = random(text.length + 1);
    agreesWithNode(text.slice(0, at) + pick(alphabet) + text.slice(at + random(2)));
  }
});
