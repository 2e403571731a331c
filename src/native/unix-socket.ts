import { nativeBinding, type NativeBinding } from './index.js';

interface UnixBinding extends NativeBinding {
  unixListen(file: string, backlog: number): number;
  unixAnswers(file: string): boolean;
}

const binding = () => nativeBinding() as UnixBinding;

/**
 * A listening unix socket at `file` (nonblocking, cloexec), made without node:net. bind(2) creates
 * the file with the process umask. Throws EADDRINUSE when the file exists.
 */
export function listenUnix(file: string, backlog = 511): number {
  return binding().unixListen(file, backlog);
}

/** Whether a process accepts connections on the unix socket at `file` (synchronous: a unix connect does not wait). */
export function unixSocketAnswers(file: string): boolean {
  return binding().unixAnswers(file);
}
