import { getSystemErrorName } from 'node:util';
import type { SyscallError } from './index.js';

/** The Error the addon throws for a failed syscall, for one it reports instead: code, errno, syscall. */
export function errnoError(errno: number, syscall: string): SyscallError {
  const code = getSystemErrorName(-errno);
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno, syscall });
}
