/**
 * `shape-actors/inspector`: the recorder (every inspection event as plain data, what `--trace`
 * writes) and the live Stately inspector (`--inspect`), which needs the optional packages
 * `@statelyai/inspect` and `ws`.
 */
export { createInspectionRecorder, type InspectionRecorder, type RecordedInspectionEvent } from './inspection-recorder.ts';
export { startLiveInspector, INSPECTOR_PACKAGES, type LiveInspector, type LiveInspectorOptions } from './inspector-server.ts';
