/** The test servers' binary comes from the one lookup `npm start` uses (tools/scripts/ensure-system-tools.mjs). */
import { afterEach, describe, expect, it } from '@jest/globals';
// eslint-disable-next-line @nx/enforce-module-boundaries -- tools/scripts is not an Nx project
import { findNatsServer } from '../../../tools/scripts/ensure-system-tools.mjs';
import { resolveNatsServerBinary } from './nats-binary.js';

describe('resolveNatsServerBinary', () => {
  const saved = process.env.NATS_SERVER_BIN;
  afterEach(() => {
    if (saved === undefined) delete process.env.NATS_SERVER_BIN;
    else process.env.NATS_SERVER_BIN = saved;
  });

  it('finds the binary npm start finds', async () => {
    const bin = await resolveNatsServerBinary();
    expect(bin).toMatch(/nats-server$/);
    expect(bin).toBe(findNatsServer());
  });

  it('takes NATS_SERVER_BIN as it is', async () => {
    const bin = await resolveNatsServerBinary();
    process.env.NATS_SERVER_BIN = bin;
    await expect(resolveNatsServerBinary()).resolves.toBe(bin);
  });

  it('refuses a NATS_SERVER_BIN that is not an executable file rather than running another binary', async () => {
    process.env.NATS_SERVER_BIN = '/proc';
    await expect(resolveNatsServerBinary()).rejects.toThrow(
      'NATS_SERVER_BIN=/proc is not an executable file',
    );
    expect(() => findNatsServer()).toThrow('NATS_SERVER_BIN=/proc is not an executable file');
  });
});
