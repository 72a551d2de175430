/**
 * Debouncing of hardware events: plugging a disk or a USB hub yields a burst of udev events, and
 * one scan after the burst is enough. The scan runs `quietMs` after the last event, but no later
 * than `maxDelayMs` after the first, so a device that flaps forever still gets scanned.
 */
export class Debouncer {
  private timer?: NodeJS.Timeout;
  private firstAt?: number;

  constructor(
    private readonly quietMs: number,
    private readonly maxDelayMs: number,
    private readonly fire: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** An event arrived. */
  poke(): void {
    const now = this.now();
    this.firstAt ??= now;
    clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(this.quietMs, this.firstAt + this.maxDelayMs - now));
    this.timer = setTimeout(() => this.flush(), delay);
    this.timer.unref();
  }

  /** Whether a scan is waiting for the burst to end. */
  get pending(): boolean {
    return this.firstAt !== undefined;
  }

  /** Drops a pending scan (a forced scan is about to run anyway). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.firstAt = undefined;
  }

  private flush(): void {
    this.cancel();
    this.fire();
  }
}
