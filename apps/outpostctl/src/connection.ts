/**
 * Where and as whom outpostctl connects, resolved like the nats CLI does: --server and --creds win,
 * then the named context (--context, else $NATS_CONTEXT, else the one selected in
 * ~/.config/nats/context.txt), then $NATS_URL / $NATS_CREDS, then nats://127.0.0.1:4222.
 * A context is the nats CLI's JSON file (~/.config/nats/context/<name>.json: url, creds, nkey, user,
 * password, token), so one file serves both tools. --creds takes a .creds file (JWT + seed) or a
 * file holding an nkey seed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  AuthorizationError,
  credsAuthenticator,
  nkeyAuthenticator,
  type Authenticator,
  type ConnectionOptions,
  type NatsConnection,
} from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { CtlError, EXIT, notFound, usage } from './exit-codes.js';

export interface ConnectFlags {
  server?: string;
  creds?: string;
  context?: string;
  /** Connect timeout, ms. */
  timeoutMs: number;
}

export interface Target {
  servers: string[];
  /** Where the servers came from, for error messages. */
  source: string;
  creds?: string;
  nkey?: string;
  user?: string;
  password?: string;
  token?: string;
}

interface ContextFile {
  url?: string;
  creds?: string;
  nkey?: string;
  user?: string;
  password?: string;
  token?: string;
}

const DEFAULT_SERVER = 'nats://127.0.0.1:4222';

function configHome(env: NodeJS.ProcessEnv): string {
  return env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
}

/** The context file of a name (or a path to a .json file). */
export function contextPath(name: string, env: NodeJS.ProcessEnv): string {
  if (name.includes('/') || name.endsWith('.json')) return name;
  return join(configHome(env), 'nats', 'context', `${name}.json`);
}

function selectedContext(flags: ConnectFlags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.context) return flags.context;
  if (env.NATS_CONTEXT) return env.NATS_CONTEXT;
  const chosen = join(configHome(env), 'nats', 'context.txt');
  if (!existsSync(chosen)) return undefined;
  const name = readFileSync(chosen, 'utf8').trim();
  return name || undefined;
}

function readContext(name: string, env: NodeJS.ProcessEnv): ContextFile {
  const path = contextPath(name, env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw notFound(
      `no context "${name}" (${path})`,
      'create it with `nats context save <name> --server URL --creds FILE`, or write that JSON file by hand',
    );
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as ContextFile;
  } catch (err) {
    throw usage(`context file ${path} is not a JSON object: ${(err as Error).message}`, '');
  }
}

/** Resolves the flags, context and environment into one target. */
export function resolveTarget(flags: ConnectFlags, env: NodeJS.ProcessEnv): Target {
  const name = selectedContext(flags, env);
  const ctx = name ? readContext(name, env) : {};
  const server = flags.server ?? ctx.url ?? env.NATS_URL;
  const source = flags.server
    ? '--server'
    : ctx.url
      ? `context ${name}`
      : env.NATS_URL
        ? '$NATS_URL'
        : 'the default';
  return {
    servers: (server || DEFAULT_SERVER)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    source,
    creds: flags.creds ?? ctx.creds ?? env.NATS_CREDS ?? undefined,
    nkey: ctx.nkey || undefined,
    user: ctx.user || undefined,
    password: ctx.password || undefined,
    token: ctx.token || undefined,
  };
}

function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  return path.startsWith('~/') ? join(env.HOME || homedir(), path.slice(2)) : path;
}

/** A .creds file (JWT and seed) or a file holding just an nkey user seed (SU...). */
export function authenticatorFor(file: string, env: NodeJS.ProcessEnv): Authenticator {
  const path = expandHome(file, env);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw notFound(`cannot read credentials ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const text = new TextDecoder().decode(bytes);
  if (text.includes('BEGIN NATS USER JWT')) return credsAuthenticator(bytes);
  const seed = /\bSU[A-Z2-7]{50,}\b/.exec(text)?.[0];
  if (seed) return nkeyAuthenticator(new TextEncoder().encode(seed));
  throw usage(`${path} is neither a .creds file nor an nkey user seed (SU...)`, '');
}

export async function connectTarget(
  target: Target,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<NatsConnection> {
  const auth: Authenticator[] = [];
  if (target.creds) auth.push(authenticatorFor(target.creds, env));
  else if (target.nkey) auth.push(authenticatorFor(target.nkey, env));
  const options: ConnectionOptions = {
    servers: target.servers,
    name: 'outpostctl',
    timeout: timeoutMs,
    maxReconnectAttempts: 0,
    ...(auth.length ? { authenticator: auth } : {}),
    ...(target.user ? { user: target.user, pass: target.password } : {}),
    ...(target.token ? { token: target.token } : {}),
  };
  try {
    return await connect(options);
  } catch (err) {
    throw connectError(err, target);
  }
}

function connectError(err: unknown, target: Target): CtlError {
  const where = `${target.servers.join(',')} (from ${target.source})`;
  const text = err instanceof Error ? err.message : String(err);
  if (err instanceof AuthorizationError || /authorization|authentication/i.test(text)) {
    return new CtlError(
      EXIT.PERMISSION,
      `the server at ${where} refused the credentials: ${text}`,
      target.creds || target.nkey
        ? 'check that the creds/nkey file belongs to a user this server knows'
        : 'this server requires credentials: pass --creds FILE or --context NAME',
    );
  }
  return new CtlError(
    EXIT.UNREACHABLE,
    `cannot reach the NATS server at ${where}: ${text}`,
    'check the address (--server, --context or $NATS_URL) and that nats-server runs there (systemctl status nats-server)',
  );
}
