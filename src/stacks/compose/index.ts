// The first step of the stack pipeline: a Compose file and its inputs in, a LoadedStack out.
export { loadCompose } from './load.ts';
export { substitute } from './interpolate.ts';
