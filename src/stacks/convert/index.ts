// Step two of the stack pipeline (see ../types.ts): a loaded Compose project →
// the Engine API objects `docker stack deploy` would create for it. Pure: no
// engine is asked anything; external objects are only named, and secret/config
// IDs are left for the deploy step to fill in.
import type { LoadedStack, StackPlan } from '../types.ts';
import { convertFileObjects } from './file-objects.ts';
import { convertNetworks } from './networks.ts';
import { convertService } from './service.ts';
import { byteOrder, fail, isDict, type Dict } from './values.ts';

export { parseDuration } from './durations.ts';
export { ramInBytes } from './bytes.ts';
export { splitShellWords } from './shell-words.ts';
export { LABEL_IMAGE, LABEL_NAMESPACE } from './naming.ts';

export function convertStack(loaded: LoadedStack, stack: string): StackPlan {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(stack)) fail('stack', `invalid stack name ${JSON.stringify(stack)}`);
  const project = loaded.project as unknown as Dict;
  const services: [string, Dict][] = Object.entries(isDict(project.services) ? project.services : {})
    .map(([name, svc]): [string, Dict] => [name, isDict(svc) ? svc : {}])
    .sort(([a], [b]) => byteOrder(a, b));
  const warnings: string[] = [];
  const plan: StackPlan = {
    stack,
    networks: convertNetworks(project, services, stack),
    secrets: convertFileObjects(project, 'secret', stack, loaded.files),
    configs: convertFileObjects(project, 'config', stack, loaded.files),
    services: services.map(([name, svc]) => convertService(project, svc, name, stack, warnings, loaded.warnings)),
    warnings: [],
  };
  // The loader may already have said the same thing; say it once.
  plan.warnings = [...new Set([...loaded.warnings, ...warnings])];
  return plan;
}
