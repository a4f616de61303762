/** Small stand-ins for browser media objects so machines run under Node. */
import { getShortestPaths, getStateNodes } from 'xstate/graph';
import { createActor, fromCallback, type AnyActorRef, type AnyStateMachine, type EventObject, type StateNode } from 'xstate';
import { callMachine } from '$machines/call.machine';

export class FakeTrack {
	readyState: 'live' | 'ended' = 'live';
	enabled = true;
	constructor(
		public kind: 'audio' | 'video',
		public label = `${kind}-track`
	) {}
	stop() {
		this.readyState = 'ended';
	}
}

/** A MediaStream over fake tracks (FakeTrack, or a test's own kind of track). */
export class FakeStream<T extends { kind: string } = FakeTrack> {
	tracks: T[];
	constructor(tracks: T[] = []) {
		this.tracks = [...tracks];
	}
	getTracks() {
		return this.tracks;
	}
	getVideoTracks() {
		return this.tracks.filter((t) => t.kind === 'video');
	}
	getAudioTracks() {
		return this.tracks.filter((t) => t.kind === 'audio');
	}
}

// The call machine builds the outgoing MediaStream itself.
(globalThis as unknown as { MediaStream: unknown }).MediaStream ??= FakeStream;

export function videoStream(label = 'camera'): MediaStream {
	return new FakeStream([new FakeTrack('video', label)]) as unknown as MediaStream;
}

export function domError(name: string, message = name): Error {
	const err = new Error(message);
	err.name = name;
	return err;
}

/** Every state node's dotted path below the root (the root itself excluded). */
export function allStatePaths(machine: AnyStateMachine): string[] {
	return getStateNodes(machine.root)
		.filter((n: StateNode) => n !== machine.root)
		.map((n: StateNode) => n.path.join('.'));
}

function activePaths(value: unknown, prefix: string[] = []): string[] {
	if (typeof value === 'string') return [[...prefix, value].join('.')];
	const out: string[] = [];
	for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
		out.push([...prefix, key].join('.'));
		out.push(...activePaths(child, [...prefix, key]));
	}
	return out;
}

/**
 * Model-based check: shortest paths through the machine (xstate/graph) over the given sample
 * events, each replayed on a real actor (fake implementations, inert actors) which must end in
 * the state the model predicts. Returns the state paths the replays reached.
 */
export function replayShortestPaths<TEvent extends EventObject>(
	machine: AnyStateMachine,
	events: TEvent[],
	input?: unknown,
	/** After every step: what the system did that this state promises, as violations (empty
	 * when it holds). This is the model-based part: the graph only picks the paths. */
	check?: (snapshot: ReturnType<AnyActorRef['getSnapshot']>, active: string[]) => string[]
): { reached: Set<string>; paths: number; mismatches: string[] } {
	// createTestModel refuses machines that invoke; the path generator itself does not.
	const paths = getShortestPaths(machine, {
		events: events as never,
		input: input as never,
		serializeState: (s) => JSON.stringify((s as { value: unknown }).value)
	});
	const reached = new Set<string>();
	const mismatches: string[] = [];
	for (const path of paths) {
		const actor = createActor(machine, { input: input as never });
		actor.start();
		for (const step of path.steps) {
			if (step.event.type !== 'xstate.init') actor.send(step.event);
			const active = activePaths(actor.getSnapshot().value);
			active.forEach((p) => reached.add(p));
			for (const violation of check?.(actor.getSnapshot(), active) ?? []) {
				mismatches.push(`${path.steps.map((st) => st.event.type).join(' → ')}: ${violation}`);
			}
		}
		const expected = JSON.stringify(path.state.value);
		const actual = JSON.stringify(actor.getSnapshot().value);
		if (expected !== actual) mismatches.push(`${path.steps.map((st) => st.event.type).join(' → ')}: expected ${expected}, got ${actual}`);
		actor.stop();
	}
	return { reached, paths: paths.length, mismatches };
}

/**
 * The real call machine with inert media and ICE actors and no microphone (it answers
 * `mic.unavailable` at once): a video-only call whose steps a test drives with events.
 */
export function inertCall(actions: Parameters<typeof callMachine.provide>[0]['actions'] = {}) {
	return callMachine.provide({
		actors: {
			mediaCall: fromCallback(() => () => {}),
			microphone: fromCallback(({ sendBack, receive }) => {
				receive(() => sendBack({ type: 'mic.unavailable' }));
				return () => {};
			}),
			ice: fromCallback(() => () => {}) as never,
			ring: fromCallback(() => () => {}),
			ringBack: fromCallback(() => () => {}),
			wakeLock: fromCallback(() => () => {}),
			mediaSession: fromCallback(() => () => {}),
			deviceCertificate: fromCallback(({ sendBack }) => sendBack({ type: 'certificate.none' })),
			callExtras: fromCallback(() => {})
		},
		actions
	});
}

/** The session's call-machine loader with this logic, arriving at once (as from the module
 * cache): a call that waited for it is replayed in the same step. */
export function callLoader(logic: AnyStateMachine) {
	return fromCallback(({ sendBack }) => {
		sendBack({ type: 'call.machineLoaded', machine: logic });
	});
}
