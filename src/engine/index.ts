// The engine's public surface. Everything a worker, the CLI or a test needs goes through here.
//
// @example
//   const parsed = parseScenario(text);            // src/scenario/parse.ts
//   if (parsed.ok) {
//     const world = buildWorld(parsed.model);
//     const trace = walk(world, { from: 'pod/default/client', to: 'pod/default/db:3306', protocol: 'tcp' });
//     console.log(formatTrace(trace));
//   }
import { planWorld } from './cni.ts';
import { World } from './world.ts';
import type { ClusterModel } from '../scenario/model.ts';
import { CNI_MODES } from '../scenario/model.ts';

export { walk, resolveRef, type WalkSpec } from './walk.ts';
export { startWorld, cniCommandOf } from './cniWalk.ts';
export { formatTrace, formatEvent } from './format.ts';
export { worldView } from './viewOf.ts';
export { EngineError, World } from './world.ts';
export { formatNetOp, type NetOp } from './netops.ts';
export { labScript, formatLabScript, type LabScript } from './lab.ts';
export type * from './trace.ts';
export type * from './packet.ts';
export type * from './view.ts';

/** Builds the world of a validated scenario: cheap (indexes only); namespaces appear as walks need them. */
export function buildWorld(model: ClusterModel): World {
  return new World(model.name, model.description, CNI_MODES[model.cni], planWorld(model), model);
}
