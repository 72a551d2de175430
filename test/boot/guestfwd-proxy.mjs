// QEMU guestfwd `cmd:` target: one process per guest connection, its stdin/stdout spliced to a TCP
// port on the host's loopback (the test's image server). Only 127.0.0.1 is ever dialled.
//   node guestfwd-proxy.mjs PORT
import { connect } from 'node:net';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: guestfwd-proxy.mjs PORT\n');
  process.exit(2);
}
const socket = connect(port, '127.0.0.1');
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('error', () => process.exit(1));
socket.on('close', () => process.exit(0));
process.stdin.on('end', () => socket.end());
