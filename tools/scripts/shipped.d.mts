// Types for shipped.mjs, so TypeScript code (test/e2e) can import it under strict mode.

/** Node flags of every Outpost unit (deploy/systemd ExecStart=). */
export declare const NODE_FLAGS: readonly string[];

/** Environment of every Outpost unit (deploy/systemd Environment=). */
export declare const NODE_ENV: Readonly<Record<string, string>>;

/** The environment of an app's unit, with V8's compile cache in cacheRoot/<app> when cacheRoot is given. */
export declare function unitEnv(app: string, cacheRoot?: string): Record<string, string>;

/** The entry file of an app as it ships, in the repository. */
export declare function shippedMain(root: string, app: string): string;
