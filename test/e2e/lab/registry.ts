/** The labs of this process, destroyed by an exit / signal hook if a test leaves them behind. */
export const live = new Map<string, { destroySync(): void }>();
let hooksInstalled = false;

function cleanupAllSync(): void {
  for (const lab of [...live.values()]) lab.destroySync();
}

export function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupAllSync);
  const signals: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
  for (const [sig, num] of Object.entries(signals)) {
    process.once(sig as NodeJS.Signals, () => {
      cleanupAllSync();
      process.exit(128 + num);
    });
  }
}
