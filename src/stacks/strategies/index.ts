// The strategies a deploy can ask for besides rolling (the engine's own update).
import type { Strategy, StrategyName } from './types.ts';

export const STRATEGIES: Partial<Record<Exclude<StrategyName, 'rolling'>, Strategy>> = {};
