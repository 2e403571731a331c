import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { LAB_ADDR, TEST_USER } from '../constants.js';
import type { Lab, LabProcess } from '../types.js';
import { started, type SocksHandle } from './started.js';

/**
 * `ssh -D` SOCKS server: sshd on 127.0.0.1:<sshdPort> in the proxy namespace (own config, host key
 * and authorized_keys in lab.dir) and `ssh -N -D 192.0.2.1:<port>` (+ [2001:db8:1::1]:<port>) in
 * the same namespace, so targets see 198.51.100.1 like with the other proxies. Logs in as root, or
 * as sgtest when root's password is locked ('!').
 */
export async function startSshSocks(lab: Lab, opts: { port?: number; sshdPort?: number; user?: string; timeoutMs?: number } = {}): Promise<SocksHandle & { sshd: LabProcess; sshdLog: string; sshdPort: number }> {
  const port = opts.port ?? 1082;
  const sshdPort = opts.sshdPort ?? 22;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const user = opts.user ?? (rootLocked() ? TEST_USER : 'root');
  const base = path.join(lab.dir, `ssh-${port}`);
  await fsp.mkdir(base, { recursive: true, mode: 0o755 });
  await fsp.chmod(base, 0o755);
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
  const hostKey = path.join(base, 'host_ed25519');
  const userKey = path.join(base, 'id_ed25519');
  await Promise.all([
    lab.exec('proxy', 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sglab-host', '-f', hostKey]),
    lab.exec('proxy', 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sglab-user', '-f', userKey]),
  ]);
  const authorizedKeys = path.join(base, 'authorized_keys');
  await fsp.copyFile(`${userKey}.pub`, authorizedKeys);
  await fsp.chmod(authorizedKeys, 0o644);
  const sshdConfig = path.join(base, 'sshd_config');
  await fsp.writeFile(
    sshdConfig,
    [
      '# socksgate e2e lab',
      `Port ${sshdPort}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${base}/sshd.pid`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'X11Forwarding no',
      'PrintMotd no',
      'UseDNS no',
      'MaxStartups 100:30:200',
      'MaxSessions 100',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  // sshd must be started with an absolute path (it re-execs itself); -D foreground, -e log to stderr
  const sshd = lab.spawn('proxy', '/usr/sbin/sshd', ['-D', '-e', '-f', sshdConfig], { name: `sshd-${sshdPort}` });
  try {
    await lab.waitForPort('proxy', '127.0.0.1', sshdPort, timeoutMs, sshd);
  } catch (e) {
    await lab.kill(sshd, 500);
    throw e;
  }
  const A = LAB_ADDR;
  const dyn = ['-D', `${A.proxyClientSide}:${port}`];
  if (lab.ipv6) dyn.push('-D', `[${A.proxyClientSide6}]:${port}`);
  const ssh = lab.spawn(
    'proxy',
    'ssh',
    [
      '-F', '/dev/null',
      '-N',
      ...dyn,
      '-o', 'GatewayPorts=yes',
      '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null',
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'ExitOnForwardFailure=yes',
      '-o', 'ServerAliveInterval=10',
      '-o', 'LogLevel=ERROR',
      '-i', userKey,
      '-p', String(sshdPort),
      `${user}@127.0.0.1`,
    ],
    { name: `ssh-D-${port}` },
  );
  const endpoints: [string, number][] = [[A.proxyClientSide, port]];
  if (lab.ipv6) endpoints.push([A.proxyClientSide6, port]);
  try {
    const h = await started(lab, ssh, 'proxy', endpoints, timeoutMs, {
      host: A.proxyClientSide,
      ...(lab.ipv6 ? { host6: A.proxyClientSide6 } : {}),
      port,
      log: sshd.logPath,
      sshd,
      sshdLog: sshd.logPath,
      sshdPort,
    });
    return Object.assign(h, {
      stop: async () => {
        await lab.kill(ssh);
        await lab.kill(sshd);
      },
    });
  } catch (e) {
    await lab.kill(sshd, 500);
    throw new Error(`${(e as Error).message}\n--- sshd output ---\n${sshd.output()}`);
  }
}

function rootLocked(): boolean {
  try {
    const line = fs.readFileSync('/etc/shadow', 'utf8').split('\n').find((l) => l.startsWith('root:'));
    return (line?.split(':')[1] ?? '').startsWith('!');
  } catch {
    return false;
  }
}
