/**
 * The one session actor of the app, started by src/hooks.client.ts and shared by every view
 * (useSession), so the call screen, /inspect and /gallery see the same camera and call. Every
 * event it and its children process is recorded for the inspector through XState's `inspect`
 * option.
 */
import { afterStart } from './after-start';
import { createActor, type Actor, type ActorRefFrom, type AnyActorRef, type InspectionEvent } from 'xstate';
import { sessionMachine } from '$machines/session.machine';
import type { permissionMachine } from '$machines/permission.machine';
import type { captureMachine } from '$machines/capture.machine';
import type { signalingMachine } from '$machines/signaling.machine';
import { Redactor } from '$lib/inspector/redact';

export type Session = Actor<typeof sessionMachine>;

export interface LogEntry {
	seq: number;
	time: number;
	/** The machine id (systemId where it has one): session, capture, call, ice… */
	machine: string;
	eventType: string;
	/** The event with handles (streams, peers) replaced by their class names, secrets redacted. */
	payload: unknown;
	from: string;
	to: string;
	/** The snapshot's context after the event, made safe for JSON, secrets redacted. */
	context: unknown;
	/** The actor instance (its sessionId): tells one call from the next. */
	actor: string;
	/** The transitions this event took, by source path, event descriptor and index among that
	 * state's transitions for the descriptor: the inspector marks the last one. */
	transitions: TakenTransition[];
}

export interface TakenTransition {
	source: string;
	eventType: string;
	index: number;
}

interface TransitionLike {
	eventType: string;
	source: { path: string[]; always?: unknown[]; transitions: Map<string, unknown[]> };
}

function taken(t: TransitionLike): TakenTransition | null {
	const list = t.eventType === '' ? t.source.always : t.source.transitions?.get(t.eventType);
	const index = list?.indexOf(t) ?? -1;
	return index < 0 ? null : { source: t.source.path.join('.'), eventType: t.eventType, index };
}

const LOG_LIMIT = 400;

/** Makes a value safe to show and export as JSON: handles become `[ClassName]`. */
export function toPlain(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
	if (value === null || typeof value !== 'object') {
		return typeof value === 'function' ? '[Function]' : value;
	}
	if (seen.has(value)) return '[Circular]';
	const proto = Object.getPrototypeOf(value);
	if (Array.isArray(value)) {
		if (depth > 4) return '[Array]';
		seen.add(value);
		return value.slice(0, 50).map((v) => toPlain(v, depth + 1, seen));
	}
	if (proto !== Object.prototype && proto !== null) {
		const name = (value as object).constructor?.name ?? 'Object';
		if ('id' in (value as object) && 'send' in (value as object)) return `[Actor ${(value as AnyActorRef).id}]`;
		return `[${name}]`;
	}
	if (depth > 4) return '[Object]';
	seen.add(value);
	const out: Record<string, unknown> = {};
	// defineProperty: a key named `__proto__` (hostile input) stays a plain key.
	for (const [k, v] of Object.entries(value)) {
		Object.defineProperty(out, k, { value: toPlain(v, depth + 1, seen), enumerable: true, writable: true, configurable: true });
	}
	return out;
}

export function stateText(value: unknown): string {
	if (typeof value === 'string') return value;
	if (value && typeof value === 'object') {
		return Object.entries(value)
			.map(([k, v]) => (typeof v === 'string' ? `${k}.${v}` : `${k}.${stateText(v)}`))
			.join(', ');
	}
	return String(value);
}

/** How long a recorded event may wait for an idle moment before it is processed anyway. */
const LOG_DELAY_MS = 250;

/** Runs `work` when the page is next idle (within `timeout` ms, when given), or after a pause
 * where there is no idle callback (WebKit, Node): a fifth of `timeout`, else at once. */
export function whenIdle(work: () => void, timeout?: number): void {
	if (typeof requestIdleCallback === 'function') requestIdleCallback(() => work(), timeout ? { timeout } : undefined);
	else setTimeout(work, timeout ? timeout / 5 : 0);
}

export class InspectionLog {
	entries = $state.raw<LogEntry[]>([]);
	#seq = 0;
	/** The one place the inspector's data passes: nothing reaches the views or the export
	 * without going through it. */
	#redactor = new Redactor();
	#last = new Map<AnyActorRef, string>();
	#pending = new Map<AnyActorRef, TakenTransition[]>();
	/** Recorded, not yet turned into entries: the copying and redacting of every snapshot's
	 * context waits for an idle moment, so it never stands between a tap and the call it starts
	 * (it took 40–70 ms of each side's main thread from dial to connected, measured). Snapshots
	 * and events are immutable, so an entry made later says what it would have said at once. */
	#queue: { ev: InspectionEvent; time: number }[] = [];

	record = (ev: InspectionEvent) => {
		if (ev.type !== '@xstate.microstep' && ev.type !== '@xstate.snapshot') return;
		if (!this.#queue.length) whenIdle(this.flush, LOG_DELAY_MS);
		this.#queue.push({ ev, time: Date.now() });
	};

	/** Turns what was recorded into entries now (the idle callback, a test, an export). */
	flush = () => {
		const queue = this.#queue.splice(0);
		const added: LogEntry[] = [];
		for (const { ev, time } of queue) {
			const entry = this.#entry(ev, time);
			if (entry) added.push(entry);
		}
		if (added.length) this.entries = [...this.entries, ...added].slice(-LOG_LIMIT);
	};

	#entry(ev: InspectionEvent, time: number): LogEntry | null {
		if (ev.type === '@xstate.microstep') {
			// Microsteps come before the macrostep's snapshot: keep them for its entry.
			const ref = ev.actorRef as AnyActorRef;
			const list = this.#pending.get(ref) ?? [];
			for (const t of ev._transitions as unknown as TransitionLike[]) {
				const step = taken(t);
				if (step) list.push(step);
			}
			this.#pending.set(ref, list);
			return null;
		}
		if (ev.type !== '@xstate.snapshot') return null;
		const snapshot = ev.snapshot as { value?: unknown; context?: unknown; status?: string };
		if (snapshot.value === undefined) return null; // only state machines have a chart
		const ref = ev.actorRef as AnyActorRef;
		const machine = ref.id;
		const to = stateText(snapshot.value);
		const from = this.#last.get(ref) ?? '';
		this.#last.set(ref, to);
		const transitions = this.#pending.get(ref) ?? [];
		this.#pending.delete(ref);
		const { type, ...rest } = ev.event as { type: string };
		const payload = toPlain(rest);
		const context = toPlain(snapshot.context);
		// Learn from both before redacting either: a payload may quote a token that only the
		// context names as one.
		this.#redactor.learn(payload);
		this.#redactor.learn(context);
		return {
			seq: ++this.#seq,
			time,
			machine,
			eventType: type,
			payload: this.#redactor.redact(payload),
			from,
			to,
			context: this.#redactor.redact(context),
			actor: ref.sessionId,
			transitions
		};
	}

	/** Extra observers (the optional Stately inspector bridge). They get XState's raw inspection
	 * events, secrets included: nothing that leaves the page may observe here. */
	observers = new Set<(ev: InspectionEvent) => void>();
}

export interface SessionHandle {
	actor: Session;
	log: InspectionLog;
}

let running: SessionHandle | null = null;

/**
 * The page's one running session, started on first use. src/hooks.client.ts asks for it before
 * SvelteKit loads and mounts the first route, so the camera and the PeerServer registration
 * start while the UI is still being built (they used to wait for the root layout to mount).
 */
export function startSession(): SessionHandle {
	if (!running) {
		const log = new InspectionLog();
		const actor = createActor(sessionMachine, {
			id: 'session',
			inspect: (ev) => {
				log.record(ev);
				for (const observe of log.observers) observe(ev);
			}
		});
		running = { actor, log };
		actor.start();
		// The call machine's code, once the camera and the ID are ready (a call that comes
		// sooner loads it itself).
		afterStart(actor, () => actor.send({ type: 'call.prefetch' }));
	}
	return running;
}

/** The running session, for any view: the same one the client init hook started. */
export const useSession = startSession;

/**
 * Follows an actor that may come and go (the call): the latest snapshot of whichever actor
 * `getRef` returns, or undefined.
 */
export function followActor<T extends AnyActorRef>(getRef: () => T | null | undefined) {
	let snapshot = $state.raw<ReturnType<T['getSnapshot']> | undefined>(undefined);
	$effect(() => {
		const ref = getRef();
		snapshot = ref?.getSnapshot();
		if (!ref) return;
		const sub = ref.subscribe((s: ReturnType<T['getSnapshot']>) => (snapshot = s));
		return () => sub.unsubscribe();
	});
	return {
		get current() {
			return snapshot;
		}
	};
}

/** The top-level state name of a snapshot value: what the root's data-* attributes show. */
export function topState(value: unknown): string {
	if (typeof value === 'string') return value;
	if (value && typeof value === 'object') return Object.keys(value)[0] ?? '';
	return '';
}

/** The full dotted path of a non-parallel machine's state (`calling.haveLocalOffer`). */
export function statePath(value: unknown): string {
	if (typeof value === 'string') return value;
	if (value && typeof value === 'object') {
		const [key] = Object.keys(value);
		if (key === undefined) return '';
		const rest = statePath((value as Record<string, unknown>)[key]);
		return rest ? `${key}.${rest}` : key;
	}
	return '';
}

/** The session's long-lived children, found by systemId and typed. */
export function sessionChildren(actor: Session) {
	return {
		permission: actor.system.get('permission') as ActorRefFrom<typeof permissionMachine>,
		capture: actor.system.get('capture') as ActorRefFrom<typeof captureMachine>,
		signaling: actor.system.get('signaling') as ActorRefFrom<typeof signalingMachine>
	};
}
