// Whether a worker's PIN is locked now, and where: everywhere (`pin_locked_until`: too many
// wrong PINs across clocks) or at some clocks (`pin_locked_at_clocks`: too many at one clock,
// where the kiosk says "ask your manager"; only a worker's own page carries them). Unlocking
// the PIN lifts both. null: not locked.
export function pinLock(worker, now = new Date()) {
  const everywhere =
    worker.pin_locked_until && new Date(worker.pin_locked_until) > now ? worker.pin_locked_until : null;
  const clocks = (worker.pin_locked_at_clocks || []).filter((lock) => new Date(lock.locked_until) > now);
  if (!everywhere && clocks.length === 0) return null;
  const until = everywhere || clocks.map((lock) => lock.locked_until).sort().at(-1);
  return { everywhere: Boolean(everywhere), clocks: clocks.length, until };
}

// The lock in words, for the PIN section's banner.
export function pinLockText(lock) {
  const where = lock.everywhere ? "" : lock.clocks === 1 ? " at a clock" : ` at ${lock.clocks} clocks`;
  return `PIN locked${where} after too many wrong tries${lock.everywhere ? "" : " there"}`;
}
