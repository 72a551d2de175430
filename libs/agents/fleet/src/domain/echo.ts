/**
 * The echo rule: what an echo request is allowed to be and what it does to the agent's record.
 * Pure: no Nest, no NATS, no files; the service persists and answers.
 */

export interface EchoRecord {
  /** Echoes answered so far (the sequence number of the last one). */
  echoes: number;
  lastText: string;
  /** Milliseconds since the epoch; 0 before the first echo. */
  lastEchoAtMs: number;
}

export interface EchoLimits {
  maxTextLength: number;
}

export type EchoOutcome = { ok: true; record: EchoRecord; sequence: number } | { ok: false; problem: string };

export const EMPTY_RECORD: EchoRecord = { echoes: 0, lastText: '', lastEchoAtMs: 0 };

export function echo(record: EchoRecord, text: string, limits: EchoLimits, nowMs: number): EchoOutcome {
  if (text.trim() === '') return { ok: false, problem: 'text is required' };
  const length = [...text].length;
  if (length > limits.maxTextLength)
    return {
      ok: false,
      problem: `text has ${length} characters; at most ${limits.maxTextLength} are allowed`,
    };
  const sequence = record.echoes + 1;
  return { ok: true, sequence, record: { echoes: sequence, lastText: text, lastEchoAtMs: nowMs } };
}
