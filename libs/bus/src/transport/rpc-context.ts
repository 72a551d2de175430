/** The context a handler receives beside its decoded message: subject, headers and trace context. */
import { BaseRpcContext } from '@nestjs/microservices';
import type { Context } from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/nats-core';
import { traceIdOf, traceparentOf } from '../trace.js';

type Args = [subject: string, headers: MsgHdrs | undefined, trace: Context];

export class OutpostRpcContext extends BaseRpcContext<Args> {
  getSubject(): string {
    return this.args[0];
  }

  getHeaders(): MsgHdrs | undefined {
    return this.args[1];
  }

  getTraceContext(): Context {
    return this.args[2];
  }

  getTraceparent(): string | undefined {
    return traceparentOf(this.args[2]);
  }

  getTraceId(): string | undefined {
    return traceIdOf(this.args[2]);
  }
}
