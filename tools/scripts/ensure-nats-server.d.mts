// Types for ensure-nats-server.mjs, so TypeScript code (libs/testing) can import it under strict mode.

/** Path of a nats-server binary (NATS_SERVER_BIN, PATH, /usr/sbin, ...), or undefined when there is none. */
export declare function findNatsServer(): string | undefined;

/** Like findNatsServer(), but apt-installs nats-server when root, else throws with install instructions. */
export declare function ensureNatsServer(): string;
