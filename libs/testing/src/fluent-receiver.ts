/**
 * A Fluent forward receiver for tests (node:net + @msgpack/msgpack): decodes Message, Forward and
 * PackedForward modes (EventTime extension included), answers `chunk` options with acks like
 * fluentd's in_forward, keeps every entry in arrival order, and can stop and start on the same port.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { decodeMulti, decodeMultiStream, encode, ExtensionCodec } from '@msgpack/msgpack';

export interface FluentEntry {
  tag: string;
  /** Seconds since the epoch (with the nanoseconds of an EventTime as a fraction). */
  time: number;
  record: Record<string, unknown>;
}

const extensionCodec = new ExtensionCodec();
// EventTime: ext type 0, 4 bytes seconds + 4 bytes nanoseconds, big endian.
extensionCodec.register({
  type: 0,
  encode: () => null,
  decode: (data: Uint8Array) => {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return view.getUint32(0) + view.getUint32(4) / 1e9;
  },
});

export class FluentReceiver {
  readonly entries: FluentEntry[] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(port = this.port): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    void (async () => {
      try {
        for await (const message of decodeMultiStream(socket as AsyncIterable<Uint8Array>, {
          extensionCodec,
        }))
          this.message(socket, message as unknown[]);
      } catch {
        socket.destroy();
      }
    })();
  }

  private message(socket: Socket, message: unknown[]): void {
    const [tag, second, third, fourth] = message as [string, unknown, unknown, unknown];
    let option: Record<string, unknown> | undefined;
    if (second instanceof Uint8Array || typeof second === 'string') {
      // PackedForward: a stream of [time, record] entries.
      const bytes = typeof second === 'string' ? new TextEncoder().encode(second) : second;
      for (const e of decodeMulti(bytes, { extensionCodec }) as Iterable<[number, Record<string, unknown>]>)
        this.entries.push({ tag, time: e[0], record: e[1] });
      option = third as Record<string, unknown> | undefined;
    } else if (Array.isArray(second)) {
      for (const e of second as [number, Record<string, unknown>][])
        this.entries.push({ tag, time: e[0], record: e[1] });
      option = third as Record<string, unknown> | undefined;
    } else {
      this.entries.push({ tag, time: second as number, record: third as Record<string, unknown> });
      option = fourth as Record<string, unknown> | undefined;
    }
    if (option && typeof option.chunk === 'string') socket.write(encode({ ack: option.chunk }));
  }
}
