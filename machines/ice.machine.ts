import { assign, sendParent, setup } from 'xstate';
import { pollStats, watchIce, type PcStateEvent, type PcStatsEvent, type RouteType } from './actors/ice';

/** Events: `pc.state` (the pc's ICE/gathering/connection states changed) and `pc.stats` (a
 * getStats sample); both from actors/ice.ts. */
export type IceEvent = PcStateEvent | PcStatsEvent;

export interface IceInput {
	pc: RTCPeerConnection;
}

export interface IceContext {
	pc: RTCPeerConnection;
	ice: RTCIceConnectionState;
	gathering: RTCIceGatheringState;
	connection: RTCPeerConnectionState;
	route: RouteType | null;
	rttMs: number | null;
	fps: number | null;
	bytesReceived: number;
	framesDecoded: number;
}

/** How often the pc's statistics are sampled (watchdog and the stats line). */
export const statsIntervalMs = 1000;

const iceStates = ['new', 'checking', 'connected', 'completed', 'disconnected', 'failed', 'closed'] as const;

/**
 * The watchdog, inside `connected` and `completed`: inbound bytes must keep growing. Muted
 * media still sends (silence, black frames), so only a real stall stops them. PeerJS never
 * notices a far side that died, and Chrome says `disconnected` only ~8 s later.
 */
const watchdog = {
	initial: 'flowing',
	states: {
		flowing: {
			after: {
				mediaStallGrace: { target: 'stalled', description: 'No inbound media for mediaStallGrace' }
			},
			on: {
				'pc.stats': {
					guard: 'mediaProgressed',
					target: 'flowing',
					reenter: true,
					actions: 'assignStats',
					description: 'Inbound media grew: restart the stall timer'
				}
			}
		},
		stalled: {
			entry: 'reportStalled',
			on: {
				'pc.stats': {
					guard: 'mediaProgressed',
					target: 'flowing',
					actions: ['assignStats', 'reportResumed']
				}
			}
		}
	}
} as const;

export const iceMachine = setup({
	types: {
		context: {} as IceContext,
		events: {} as IceEvent,
		input: {} as IceInput
	},
	actors: { watchIce, pollStats },
	guards: {
		iceBecame: ({ context, event }, state: RTCIceConnectionState) =>
			event.type === 'pc.state' && event.ice === state && context.ice !== state,
		mediaProgressed: ({ context, event }) =>
			event.type === 'pc.stats' && event.bytesReceived > context.bytesReceived
	},
	delays: {
		/** Inbound media silent this long → the call goes to `recovering`. */
		mediaStallGrace: 3000
	},
	actions: {
		assignPcState: assign(({ event }) =>
			event.type === 'pc.state' ? { ice: event.ice, gathering: event.gathering, connection: event.connection } : {}
		),
		assignStats: assign(({ context, event }) =>
			event.type === 'pc.stats'
				? {
						bytesReceived: Math.max(context.bytesReceived, event.bytesReceived),
						framesDecoded: event.framesDecoded,
						fps: event.fps,
						rttMs: event.rttMs,
						route: event.route ?? context.route
					}
				: {}
		),
		/** Swapped in unit tests; the call machine decides what a state means for the call. */
		reportConnected: sendParent({ type: 'ice.connected' }),
		reportDisconnected: sendParent({ type: 'ice.disconnected' }),
		reportFailed: sendParent({ type: 'ice.failed' }),
		reportStalled: sendParent({ type: 'ice.stalled' }),
		reportResumed: sendParent({ type: 'ice.resumed' })
	}
}).createMachine({
	id: 'ice',
	context: ({ input }) => ({
		pc: input.pc,
		ice: 'new',
		gathering: 'new',
		connection: 'new',
		route: null,
		rttMs: null,
		fps: null,
		bytesReceived: 0,
		framesDecoded: 0
	}),
	invoke: [
		{ src: 'watchIce', input: ({ context }) => ({ pc: context.pc }) },
		{ src: 'pollStats', input: ({ context }) => ({ pc: context.pc, intervalMs: statsIntervalMs }) }
	],
	on: {
		'pc.state': [
			...iceStates.map((state) => ({
				guard: { type: 'iceBecame' as const, params: state },
				target: `.${state}`,
				actions: 'assignPcState' as const
			})),
			{ actions: 'assignPcState' }
		],
		'pc.stats': { actions: 'assignStats' }
	},
	initial: 'new',
	states: {
		new: {},
		checking: {},
		connected: { entry: 'reportConnected', ...watchdog },
		completed: { entry: 'reportConnected', ...watchdog },
		disconnected: { entry: 'reportDisconnected' },
		failed: { entry: 'reportFailed' },
		closed: {}
	}
});
