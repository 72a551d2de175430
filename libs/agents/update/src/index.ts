/**
 * @outpost/agent-update: the platform-update agent's definition (its Nest module and settings), plus
 * what operators and the bench use directly: manifest signing and the slot writer.
 */
export { UpdateAgent } from './update.agent.js';
export { UpdateModule } from './update.module.js';
export { canonicalManifest, signManifest, verifyManifest, parseTrustedKey } from './domain/manifest.js';
export { installImageFile, writeImageToTarget, hashRegion, type WriteTarget } from './image/slot-writer.js';
