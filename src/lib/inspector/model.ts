/**
 * The inspector's picture of a machine, read from the machine definition itself (the StateNode
 * tree XState builds from the config), so the drawing cannot drift from the code. Plain
 * TypeScript: no DOM, no Svelte, unit-tested under Node.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

export type NodeKind = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface ChartNode {
	/** Dotted path relative to the machine root: '' for the root, 'calling.offering'. */
	path: string;
	key: string;
	kind: NodeKind;
	/** 0 for the root. */
	depth: number;
	children: string[];
	/** Path of the initial child of a compound state. */
	initial: string | null;
	description: string | null;
	/** What the state invokes while active (the actor's `src` name). */
	invokes: string[];
}

export interface ChartEdge {
	/** `source|eventType|index`, the same key the inspection log records for taken transitions. */
	key: string;
	source: string;
	/** Target paths; empty for a targetless transition (actions only, the state stays). */
	targets: string[];
	/** The raw event descriptor: '' for `always`, `xstate.after.…` for delays. */
	eventType: string;
	/** What the chart shows for the event: `camera.flip`, `after ringTimeout`, `always`… */
	event: string;
	guard: string | null;
	description: string | null;
	/** The delay's name (or `500ms`) for an `after` transition. */
	delay: string | null;
	reenter: boolean;
}

export interface ChartModel {
	id: string;
	/** Document order, root first. */
	nodes: ChartNode[];
	edges: ChartEdge[];
}

export function transitionKey(source: string, eventType: string, index: number): string {
	return `${source}|${eventType}|${index}`;
}

const pathOf = (node: AnyStateNode) => node.path.join('.');

/** `changedTo(granted)`, `not(busy)`, `and(a, b)`; inline functions by their name. */
export function guardLabel(guard: unknown): string | null {
	if (!guard) return null;
	if (typeof guard === 'string') return guard;
	if (typeof guard === 'function') {
		const fn = guard as { name: string; guards?: unknown[]; stateValue?: unknown };
		if (Array.isArray(fn.guards)) return `${fn.name}(${fn.guards.map((g) => guardLabel(g) ?? '?').join(', ')})`;
		if (fn.stateValue !== undefined) return `stateIn(${JSON.stringify(fn.stateValue)})`;
		return fn.name || 'inline guard';
	}
	if (typeof guard === 'object' && 'type' in guard) {
		const { type, params } = guard as { type: unknown; params?: unknown };
		const name = guardLabel(type) ?? '?';
		if (params === undefined) return name;
		if (typeof params === 'function') return `${name}(…)`;
		const text = typeof params === 'string' ? params : JSON.stringify(params);
		return `${name}(${text.length > 40 ? text.slice(0, 39) + '…' : text})`;
	}
	return 'guard';
}

function delayLabel(delay: unknown): string {
	if (typeof delay === 'number') return `${delay}ms`;
	if (typeof delay === 'string') return delay;
	return 'delay expression';
}

/** The invoked actor's name for `xstate.done.actor.<invoke id>`. */
function invokeSrc(node: AnyStateNode, invokeId: string): string {
	const def = node.invoke.find((i: { id: string }) => i.id === invokeId);
	const src = def?.src;
	return typeof src === 'string' && !src.startsWith('xstate.invoke.') ? src : invokeId;
}

function eventLabel(node: AnyStateNode, t: AnyTransitionDefinition & { delay?: unknown }): string {
	const type = t.eventType as string;
	if ('delay' in t && t.delay !== undefined) return `after ${delayLabel(t.delay)}`;
	if (type === '') return 'always';
	let m = /^xstate\.done\.actor\.(.+)$/.exec(type);
	if (m) return `done: ${invokeSrc(node, m[1])}`;
	m = /^xstate\.error\.actor\.(.+)$/.exec(type);
	if (m) return `error: ${invokeSrc(node, m[1])}`;
	m = /^xstate\.snapshot\.(.+)$/.exec(type);
	if (m) return `snapshot: ${invokeSrc(node, m[1])}`;
	if (type.startsWith('xstate.done.state.')) return 'done (final state reached)';
	return type;
}

function invokes(node: AnyStateNode): string[] {
	return node.invoke.map((i: { id: string; src: unknown }) =>
		typeof i.src === 'string' && !i.src.startsWith('xstate.invoke.') ? i.src : i.id
	);
}

/** Every state node and every transition of `machine`, in document order. */
export function chartModel(machine: AnyStateMachine): ChartModel {
	const nodes: ChartNode[] = [];
	const edges: ChartEdge[] = [];

	const visit = (node: AnyStateNode) => {
		const path = pathOf(node);
		const children = Object.values(node.states as Record<string, AnyStateNode>);
		const initialTarget =
			node.type === 'compound' ? (node.initial?.target?.[0] as AnyStateNode | undefined) : undefined;
		nodes.push({
			path,
			key: node.path.length ? node.key : machine.id,
			kind: node.type,
			depth: node.path.length,
			children: children.map(pathOf),
			initial: initialTarget ? pathOf(initialTarget) : null,
			description: node.description ?? null,
			invokes: invokes(node)
		});

		const add = (eventType: string, list: readonly AnyTransitionDefinition[]) => {
			list.forEach((t, index) => {
				const delay = (t as { delay?: unknown }).delay;
				edges.push({
					key: transitionKey(path, eventType, index),
					source: path,
					targets: (t.target ?? []).map((target: AnyStateNode) => pathOf(target)),
					eventType,
					event: eventLabel(node, t),
					guard: guardLabel(t.guard),
					description: t.description ?? null,
					delay: delay === undefined ? null : delayLabel(delay),
					reenter: t.reenter
				});
			});
		};
		for (const [eventType, list] of node.transitions as Map<string, AnyTransitionDefinition[]>) add(eventType, list);
		if (node.always) add('', node.always);

		children.forEach(visit);
	};
	visit(machine.root);
	return { id: machine.id, nodes, edges };
}

function isMachine(logic: unknown): logic is AnyStateMachine {
	return !!logic && typeof logic === 'object' && 'root' in logic && 'config' in logic && 'implementations' in logic;
}

/**
 * The root machine and every machine it can invoke or spawn, found through `setup({ actors })`,
 * breadth first; then the same for `more`: the machines the session imports on demand (call,
 * photo), each with what it invokes in turn (the call's ICE machine).
 */
export function collectMachines(root: AnyStateMachine, ...more: AnyStateMachine[]): AnyStateMachine[] {
	const found: AnyStateMachine[] = [];
	const queue: AnyStateMachine[] = [root, ...more];
	while (queue.length) {
		const machine = queue.shift()!;
		if (found.some((m) => m === machine || m.id === machine.id)) continue;
		found.push(machine);
		const actors = (machine.implementations?.actors ?? {}) as Record<string, unknown>;
		for (const logic of Object.values(actors)) if (isMachine(logic)) queue.push(logic);
	}
	return found;
}

/** Dotted paths of every active state node in a snapshot value: `{ calling: 'offering' }` →
 * `calling`, `calling.offering`. */
export function activePaths(value: unknown, prefix = ''): string[] {
	if (typeof value === 'string') return [prefix + value];
	if (!value || typeof value !== 'object') return [];
	const out: string[] = [];
	for (const [key, child] of Object.entries(value)) {
		out.push(prefix + key);
		out.push(...activePaths(child, `${prefix}${key}.`));
	}
	return out;
}
