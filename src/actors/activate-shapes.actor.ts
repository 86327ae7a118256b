import { fromPromise } from 'xstate';
import { planActivation, type ActivationPlan } from './activation.ts';
import type { RuntimeShapes } from './runtime-shapes.ts';

/** `running.activating`: what waking a shape a client reads takes (its files checked, its dependencies' too); the machine's effect starts it. */
export const activateShapesActor = fromPromise<ActivationPlan, { shapes: RuntimeShapes; handles: readonly string[] }>(({ input }) => planActivation(input.shapes, input.handles));
