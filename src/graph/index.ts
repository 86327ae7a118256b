export { DependencyGraph } from './dependency-graph.ts';
export { planRestore, type PlanNode, type RestorePlan, type RestorePlanOptions, type RestorePolicy } from './restore-plan.ts';
export { causeChain, type Removal, type RemovalReason } from './removal.ts';
export { stronglyConnectedComponents } from './cycles.ts';
