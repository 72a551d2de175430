/**
 * The wire codec: proto3 JSON, decoded strictly. Unknown fields, wrong types and non-JSON bodies are
 * rejected with a ContractError(BAD_REQUEST) that names the problem; nothing here throws anything else.
 */
import {
  fromJson,
  toJsonString,
  type DescMessage,
  type JsonValue,
  type MessageInitShape,
  type MessageShape,
  create,
} from '@bufbuild/protobuf';
import { ContractError } from './errors.js';
import { ErrorCode } from './gen/outpost/common/v1/error_pb.js';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Decodes a bus payload into a message of `schema`. An empty body is the empty message `{}`. */
export function decode<S extends DescMessage>(schema: S, data: Uint8Array | undefined): MessageShape<S> {
  // The commonest request body by far: nothing, or `{}` (what `nats req ... '{}'` sends).
  if (!data || data.length === 0 || (data.length === 2 && data[0] === 0x7b && data[1] === 0x7d)) {
    return create(schema);
  }
  let text: string;
  try {
    text = utf8Decoder.decode(data);
  } catch {
    throw new ContractError(ErrorCode.BAD_REQUEST, `payload for ${schema.typeName} is not UTF-8`);
  }
  return decodeJsonText(schema, text);
}

export function decodeJsonText<S extends DescMessage>(schema: S, text: string): MessageShape<S> {
  if (text.trim() === '') return create(schema);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ContractError(
      ErrorCode.BAD_REQUEST,
      `payload for ${schema.typeName} is not JSON: ${(err as Error).message}`,
    );
  }
  return decodeJson(schema, json);
}

export function decodeJson<S extends DescMessage>(schema: S, json: unknown): MessageShape<S> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ContractError(
      ErrorCode.BAD_REQUEST,
      `payload for ${schema.typeName} must be a JSON object, got ${Array.isArray(json) ? 'array' : typeof json}`,
    );
  }
  try {
    return fromJson(schema, json as JsonValue, { ignoreUnknownFields: false });
  } catch (err) {
    throw new ContractError(ErrorCode.BAD_REQUEST, (err as Error).message);
  }
}

export function encodeJsonText<S extends DescMessage>(schema: S, message: MessageShape<S>): string {
  return toJsonString(schema, message, { alwaysEmitImplicit: true });
}

/** Encodes a message for the wire. Every field is emitted, so `nats sub` and jq see the whole shape. */
export function encode<S extends DescMessage>(schema: S, message: MessageShape<S>): Uint8Array {
  return utf8Encoder.encode(encodeJsonText(schema, message));
}

/** Builds and encodes in one step: `encodeInit(HeartbeatSchema, { nodeId, ... })`. */
export function encodeInit<S extends DescMessage>(schema: S, init: MessageInitShape<S>): Uint8Array {
  return encode(schema, create(schema, init));
}
