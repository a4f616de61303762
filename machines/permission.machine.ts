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

export const permissionMachine = setup({
	types: {
		context: {} as PermissionContext,
		events: {} as PermissionMachineEvent
	},
	actors: { permissionStatus },
	guards: {
		changedTo: ({ event }, state: PermissionValue) =>
			event.type === 'permission.changed' && event.state === state,
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
	invoke: { src: 'permissionStatus', id: 'status' },
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
				description: 'getUserMedia succeeded: the only answer where the Permissions API lacks camera'
			},
			{ target: '.denied', description: 'getUserMedia failed with NotAllowedError' }
		]
	},
	states: {
		checking: {
			on: {
				'permission.unknown': {
					target: 'prompt',
					description: 'Permissions API lacks camera: ask on a tap, learn from getUserMedia'
				},
				'permission.unsupported': 'unsupported'
			}
		},
		prompt: {},
		granted: {
			entry: 'reportGranted',
			// Already granted (every camera start says so): nothing to re-enter or report.
			on: { 'permission.observed': { guard: 'observedGranted' } }
		},
		denied: {
			on: { 'permission.observed': { guard: not('observedGranted') } }
		},
		unsupported: {}
	}
});
