/**
 * One input read on its own interval. The latest sample is kept for the metric instruments (pushed
 * exports and Prometheus scrapes read it, they never read /proc themselves); a failed read keeps the
 * previous sample and is reported in cmd.status.
 */
export interface InputReport {
  input: string;
  signal: 'metrics' | 'logs';
  intervalSeconds: number;
  level?: string;
  collected: number;
  lastError: string;
  lastCollectedAt?: Date;
}

export class SampledInput<S> {
  latest: S | undefined;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  readonly report: InputReport;

  constructor(
    readonly input: string,
    readonly intervalSeconds: number,
    private readonly read: (previous: S | undefined) => Promise<S>,
  ) {
    this.report = { input, signal: 'metrics', intervalSeconds, collected: 0, lastError: '' };
  }

  /** Takes a first sample at once, then one per interval. */
  async start(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  sample(): Promise<void> {
    // One read at a time: a slow disk does not pile reads up.
    this.running ??= this.read(this.latest)
      .then((s) => {
        this.latest = s;
        this.report.collected++;
        this.report.lastError = '';
        this.report.lastCollectedAt = new Date();
      })
      .catch((err: unknown) => {
        this.report.lastError = err instanceof Error ? err.message : String(err);
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
