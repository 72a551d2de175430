/** The agent generator's options and every spelling of the agent's name the templates and edits use. */
import { names } from '@nx/devkit';

export interface AgentGeneratorOptions {
  /** The agent id: one short lower-case word, the subject token edge.<nodeId>.<name>. */
  name: string;
  /** One line on what the agent does (proto, unit, agent definition). */
  description?: string;
  /** Leave the files as generated, without prettier. */
  skipFormat?: boolean;
  /** Do not run buf generate nor link the new packages into node_modules afterwards. */
  skipInstall?: boolean;
}

export interface AgentNames {
  /** `uptime`: agent id, file names, proto package part, KV key part. */
  name: string;
  /** `Uptime`: UptimeAgent, UptimeModule, UptimeApi, proto messages. */
  className: string;
  /** `uptime`: uptimeSettings. */
  propertyName: string;
  /** `UPTIME`: OUTPOST_UPTIME_* variables. */
  constantName: string;
  description: string;
}

/**
 * One word, because the id is a subject token, a proto package part (lower_snake), a Unix user name
 * part and an environment variable prefix at once; a hyphen or an underscore would read differently
 * in each of them.
 */
const AGENT_ID = /^[a-z][a-z0-9]{1,23}$/;
/** Lands in single-quoted TypeScript, proto comments and systemd comments: one plain line. */
const DESCRIPTION = /^[^\n\r'"\\`<>%$]{1,160}$/;

export function agentNames(options: AgentGeneratorOptions): AgentNames {
  const name = options.name?.trim() ?? '';
  if (!AGENT_ID.test(name))
    throw new Error(
      `agent name "${name}" must be one lower-case word: a letter, then letters or digits (2-24 in all), e.g. uptime`,
    );
  const description = options.description?.trim() || 'answers status and echo requests';
  if (!DESCRIPTION.test(description))
    throw new Error(`description "${description}" must be one line without quotes, backslashes, < > % or $`);
  const n = names(name);
  return {
    name,
    className: n.className,
    propertyName: n.propertyName,
    constantName: n.constantName,
    description: description.endsWith('.') ? description.slice(0, -1) : description,
  };
}
