// Types for ensure-system-tools.mjs, so TypeScript code (libs/testing, its spec) can import it under strict mode.

export type Part = 'start' | 'test' | 'boot';

export interface SystemTool {
  command: string;
  /** The Debian package that brings it. */
  pkg: string;
  /** The npm commands that need it. */
  for: Part[];
  why: string;
}

export declare const SYSTEM_TOOLS: readonly SystemTool[];
export declare const EXTRA_DIRS: readonly string[];

/** The absolute path of `command` (PATH first, then the sbin directories), or undefined. */
export declare function findTool(command: string, path?: string): string | undefined;
export declare function missingTools(part: Part, path?: string): SystemTool[];
export declare function packagesOf(tools: readonly SystemTool[]): string[];
export declare function installCommand(tools: readonly SystemTool[]): string;
export declare function missingMessage(part: Part, tools: readonly SystemTool[]): string;
export declare function ensureSystemTools(
  part: Part,
  options?: { dryRun?: boolean; log?: (line: string) => void },
): SystemTool[];

/**
 * Path of a nats-server binary (NATS_SERVER_BIN, PATH, /usr/sbin, ...), or undefined when there is none;
 * throws when NATS_SERVER_BIN names something that is not an executable file.
 */
export declare function findNatsServer(): string | undefined;

/** Like findNatsServer(), but apt-installs nats-server when root, else throws with install instructions. */
export declare function ensureNatsServer(): string;
