import { describe, expect, it } from '@jest/globals';
import { create } from '@bufbuild/protobuf';
import { decode, encode } from './codec.js';
import { ContractError } from './errors.js';
import { ErrorCode } from './gen/outpost/common/v1/error_pb.js';
import { AgentState, AgentStatusSchema } from './gen/outpost/common/v1/status_pb.js';
import { DescribeRequestSchema } from './gen/outpost/node/v1/node_pb.js';

const bytes = (s: string) => new TextEncoder().encode(s);

function decodeError(data: Uint8Array): ContractError {
  try {
    decode(AgentStatusSchema, data);
  } catch (err) {
    if (err instanceof ContractError) return err;
    throw err;
  }
  throw new Error('decode accepted the payload');
}

describe('strict proto3 JSON codec', () => {
  it('round-trips a message and emits every field', () => {
    const status = create(AgentStatusSchema, { nodeId: 'n1', agent: 'node', state: AgentState.READY });
    const wire = new TextDecoder().decode(encode(AgentStatusSchema, status));
    expect(JSON.parse(wire)).toMatchObject({
      nodeId: 'n1',
      state: 'AGENT_STATE_READY',
      reasons: [],
      sequence: 0,
    });
    expect(decode(AgentStatusSchema, bytes(wire))).toEqual(status);
  });

  it('reads an empty body as the empty message', () => {
    expect(decode(DescribeRequestSchema, new Uint8Array())).toEqual(create(DescribeRequestSchema));
    expect(decode(DescribeRequestSchema, bytes('  '))).toEqual(create(DescribeRequestSchema));
  });

  it.each([
    ['not JSON', '{"nodeId":', /not JSON/],
    ['an array', '[1,2]', /must be a JSON object, got array/],
    ['a string', '"x"', /must be a JSON object, got string/],
    ['null', 'null', /must be a JSON object/],
    ['an unknown field', '{"nodeId":"a","bogus":1}', /bogus/],
    ['a wrong type', '{"sequence":"many"}', /sequence/],
    ['an unknown enum name', '{"state":"AGENT_STATE_ASLEEP"}', /AGENT_STATE_ASLEEP/],
    ['a negative unsigned', '{"sequence":-1}', /sequence/],
  ])('rejects %s with BAD_REQUEST', (_case, body, message) => {
    const err = decodeError(bytes(body));
    expect(err.code).toBe(ErrorCode.BAD_REQUEST);
    expect(err.message).toMatch(message);
  });

  it('rejects bytes that are not UTF-8', () => {
    expect(decodeError(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])).message).toMatch(/not UTF-8/);
  });
});
