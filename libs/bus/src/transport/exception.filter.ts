/**
 * Lets every error thrown by a handler reach the transport unchanged. Nest's default RPC filter turns
 * anything that is not an RpcException into "Internal server error"; the transport instead maps a
 * ContractError to its typed reply and logs anything else as INTERNAL, with its stack.
 */
import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

@Catch()
export class BusExceptionFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
