// The strategies a deploy can ask for besides rolling (the engine's own update).
import type { Strategy, StrategyName } from './types.ts';
import { blueGreen, BLUE_GREEN_LABEL } from './blue-green.ts';
import { canary, CANARY_OF_LABEL } from './canary.ts';

export const STRATEGIES: Partial<Record<Exclude<StrategyName, 'rolling'>, Strategy>> = {
  'blue-green': blueGreen,
  canary,
};

/** Labels of a strategy's second version of a service: a prune leaves such services to their strategy. */
export const STRATEGY_LABELS = [BLUE_GREEN_LABEL, CANARY_OF_LABEL];
