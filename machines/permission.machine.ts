import { assign, not, sendParent, setup } from 'xstate';
import { permissionStatus, type PermissionValue } from './actors/media';

/**
 * Events:
 * - `permission.changed { state }`: the Permissions API reported a value (first read or `change`).
 * - `permission.unknown`: this browser cannot report camera permission; ask on a tap.
 * - `permission.unsupported`: no camera API at all (insecure context or very old browser).
 * - `permission.observed { state }`: sent by the session from getUserMedia's outcome, the only
 *   source of truth where the Permissions API lacks `camera`.
 */
export type PermissionMachineEvent =
	| { type: 'permission.changed'; state: PermissionValue }
	| { type: 'permission.unknown' }
	| { type: 'permission.unsupported' }
	| { type: 'permission.observed'; state: 'granted' | 'denied' };

export interface PermissionContext {
	/** Whether the Permissions API reports camera permission on this browser. */
	queryable: boolean;
}

// Stryker (npm run mutation) skips the mutants marked below: they cannot change what the
// machine does, so no test could tell them apart.
export const permissionMachine = setup({
	// Stryker disable next-line ObjectLiteral: types only inform TypeScript
	types: {
		context: {} as PermissionContext,
		events: {} as PermissionMachineEvent
	},
	actors: { permissionStatus },
	guards: {
		// The type checks narrow the event for TypeScript; each guard is only used on its event.
		changedTo: ({ event }, state: PermissionValue) =>
			// Stryker disable next-line ConditionalExpression: see above
			event.type === 'permission.changed' && event.state === state,
		// Stryker disable next-line ConditionalExpression: see above
		observedGranted: ({ event }) => event.type === 'permission.observed' && event.state === 'granted'
	},
	actions: {
		markQueryable: assign({ queryable: true }),
		/** Tells the session the camera may open without a prompt. Swapped in unit tests. */
		reportGranted: sendParent({ type: 'permission.granted' })
	}
}).createMachine({
	id: 'permission',
	context: { queryable: false },
	initial: 'checking',
	// Lives as long as the machine: the Permissions API's `change` events can arrive in any state.
	invoke: {
		src: 'permissionStatus',
		// Stryker disable next-line StringLiteral: nothing addresses the status actor by id
		id: 'status'
	},
	on: {
		'permission.changed': [
			{ guard: { type: 'changedTo', params: 'granted' }, target: '.granted', actions: 'markQueryable' },
			{ guard: { type: 'changedTo', params: 'denied' }, target: '.denied', actions: 'markQueryable' },
			{ target: '.prompt', actions: 'markQueryable' }
		],
		'permission.observed': [
			{
				guard: 'observedGranted',
				target: '.granted',
				// Stryker disable next-line StringLiteral: descriptions only label the chart
				description: 'getUserMedia succeeded: the only answer where the Permissions API lacks camera'
			},
			{
				target: '.denied',
				// Stryker disable next-line StringLiteral: descriptions only label the chart
				description: 'getUserMedia failed with NotAllowedError'
			}
		]
	},
	states: {
		checking: {
			on: {
				'permission.unknown': {
					target: 'prompt',
					// Stryker disable next-line StringLiteral: descriptions only label the chart
					description: 'Permissions API lacks camera: ask on a tap, learn from getUserMedia'
				},
				'permission.unsupported': 'unsupported'
			}
		},
		prompt: {},
		granted: {
			entry: 'reportGranted',
			// Already granted (every camera start says so, and the Permissions API's first answer
			// may arrive after a tap opened the camera): nothing to re-enter or report.
			on: {
				'permission.observed': { guard: 'observedGranted' },
				'permission.changed': { guard: { type: 'changedTo', params: 'granted' }, actions: 'markQueryable' }
			}
		},
		// Without this handler a refusal while denied re-enters denied, which has no entry, exit
		// or invoke: the same from outside. It keeps the chart from showing a re-entry.
		// Stryker disable next-line ObjectLiteral: see above
		denied: {
			// Stryker disable next-line ObjectLiteral: see above
			on: {
				'permission.observed': { guard: not('observedGranted') }
			}
		},
		unsupported: {}
	}
});
