/**
 * The update server of the boot test: static files from one directory over HTTP on 127.0.0.1, with
 * Range requests (the update agent resumes downloads), counting what each path served.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';

export interface ImageServer {
  port: number;
  /** Bytes sent per path. */
  served: Map<string, number>;
  /** Request log: method, path, range, status. */
  requests: string[];
  close(): Promise<void>;
}

export async function startImageServer(dir: string): Promise<ImageServer> {
  const served = new Map<string, number>();
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(dir, path);
    const range = req.headers.range;
    void (async () => {
      const info = path.includes('..') ? undefined : await stat(file).catch(() => undefined);
      if (!info?.isFile()) {
        requests.push(`${req.method} ${path} ${range ?? ''} 404`);
        res.writeHead(404).end();
        return;
      }
      let start = 0;
      let end = info.size - 1;
      const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
      if (m) {
        start = Number(m[1]);
        if (m[2]) end = Math.min(end, Number(m[2]));
        if (start > end) {
          requests.push(`${req.method} ${path} ${range ?? ''} 416`);
          res.writeHead(416, { 'content-range': `bytes */${info.size}` }).end();
          return;
        }
      }
      const status = m ? 206 : 200;
      requests.push(`${req.method} ${path} ${range ?? ''} ${status}`);
      res.writeHead(status, {
        'content-length': String(end - start + 1),
        'accept-ranges': 'bytes',
        ...(m ? { 'content-range': `bytes ${start}-${end}/${info.size}` } : {}),
      });
      if (req.method === 'HEAD') return void res.end();
      const stream = createReadStream(file, { start, end });
      stream.on('data', (chunk) => served.set(path, (served.get(path) ?? 0) + chunk.length));
      stream.pipe(res);
    })();
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    served,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
