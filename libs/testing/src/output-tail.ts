// The end of a server's output, for the error message when it does not start.
/** Keeps the last N lines of server output for error messages, without growing with a chatty server. */
export class OutputTail {
  private readonly lines: string[] = [];
  private next = 0;
  private partial = '';

  constructor(private readonly capacity: number) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = (parts.pop() ?? '').slice(-4096);
    for (const line of parts) {
      this.lines[this.next] = line.length > 2000 ? `${line.slice(0, 2000)}...` : line;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  /** Adds a line of our own, after any unterminated server line. */
  note(line: string): void {
    this.push(`${this.partial ? '\n' : ''}${line}\n`);
  }

  text(): string {
    const ordered = [...this.lines.slice(this.next), ...this.lines.slice(0, this.next)];
    if (this.partial) ordered.push(this.partial);
    return ordered.join('\n');
  }
}
