/**
 * Handler decorators that take catalog entries instead of pattern strings, so a handler can only be
 * bound to an endpoint the contracts define, and its types follow the entry's schemas.
 */
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import type { DescMessage, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { CommandDef, EventDef } from '@outpost/contracts';

/** Binds a method to edge.<nodeId>.<agent>.cmd.<verb>. */
export function Command(def: CommandDef) {
  return MessagePattern(def.pattern);
}

/** Binds a method to an event of the catalog (delivered once per agent, through its queue group). */
export function OnEvent(def: EventDef) {
  return EventPattern(def.pattern);
}

export type RequestOf<D> =
  D extends CommandDef<infer Req extends DescMessage, DescMessage> ? MessageShape<Req> : never;

/** What a handler may return: the reply message, or its init shape (plain fields). */
export type ReplyOf<D> =
  D extends CommandDef<DescMessage, infer Rep extends DescMessage>
    ? MessageShape<Rep> | MessageInitShape<Rep>
    : never;

export type EventOf<D> = D extends EventDef<infer M extends DescMessage> ? MessageShape<M> : never;
