/**
 * Finds the running actor of each machine under the session, so /inspect can show the call the
 * call screen holds: invoked children by `snapshot.children`, spawned ones by the refs the
 * session keeps in its context (the call), recursively (the call's ice child).
 */
import type { AnyActorRef, AnyStateMachine } from 'xstate';

function isActorRef(value: unknown): value is AnyActorRef {
	return !!value && typeof value === 'object' && 'sessionId' in value && 'getSnapshot' in value && 'send' in value;
}

function runsMachine(ref: AnyActorRef, machine: AnyStateMachine): boolean {
	const logic = (ref as { logic?: unknown }).logic;
	return logic === machine || (!!logic && typeof logic === 'object' && 'root' in logic && (logic as AnyStateMachine).id === machine.id);
}

/** The actor running `machine` under `root` (root included), or undefined. Spawned refs kept in
 * context come first: they are the ones the views show (a finished call stays there until it
 * is dismissed). */
export function findActor(root: AnyActorRef, machine: AnyStateMachine): AnyActorRef | undefined {
	const seen = new Set<AnyActorRef>();
	const queue: AnyActorRef[] = [root];
	while (queue.length) {
		const ref = queue.shift()!;
		if (seen.has(ref)) continue;
		seen.add(ref);
		if (runsMachine(ref, machine)) return ref;
		const snapshot = ref.getSnapshot() as { context?: unknown; children?: Record<string, unknown> } | undefined;
		const context = snapshot?.context;
		if (context && typeof context === 'object') {
			for (const value of Object.values(context)) if (isActorRef(value)) queue.push(value);
		}
		for (const child of Object.values(snapshot?.children ?? {})) if (isActorRef(child)) queue.push(child);
	}
	return undefined;
}
