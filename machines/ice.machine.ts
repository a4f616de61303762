import { assign, sendParent, setup } from 'xstate';
import { pollStats, watchIce, type PcCandidateEvent, type PcStateEvent, type PcStatsEvent, type RouteType } from './actors/ice';

/**
 * Events: `pc.state` (the pc's ICE/gathering/connection states changed), `pc.stats` (a getStats
 * sample), `pc.localCandidate` / `pc.remoteCandidate` / `pc.candidateError` (trickle ICE), all
 * from actors/ice.ts; from the call: `ice.peerAlive` (the far side's heartbeat arrived on the
 * call's data channel) and `ice.close` (the call closed the pc).
 */
export type IceEvent =
	| PcStateEvent
	| PcStatsEvent
	| PcCandidateEvent
	| { type: 'ice.peerAlive' }
	| { type: 'ice.close' };

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
	/** Candidates this side gathered (and PeerJS trickled to the far side). */
	localCandidates: number;
	/** Candidates from the far side added to the pc. */
	remoteCandidates: number;
}

/** How often the pc's statistics are sampled (watchdog and the stats line). */
export const statsIntervalMs = 1000;

const iceStates = ['new', 'checking', 'connected', 'completed', 'disconnected', 'failed'] as const;
const gatheringStates = ['new', 'gathering', 'complete'] as const;

/**
 * The watchdog, inside `connected` and `completed`: the far side must show signs of life:
 * inbound bytes growing, or its heartbeat on the call's data channel. Muted media still sends
 * (silence, black frames), and a side that sends no media at all (camera off, no microphone)
 * still sends its heartbeat, so only a dead path stalls. PeerJS never notices a far side that
 * died, and Chrome says `disconnected` only ~8 s later.
 */
const watchdog = {
	initial: 'flowing',
	states: {
		flowing: {
			after: {
				mediaStallGrace: { target: 'stalled', description: 'No inbound media and no heartbeat for mediaStallGrace' }
			},
			on: {
				'pc.stats': {
					guard: 'mediaProgressed',
					target: 'flowing',
					reenter: true,
					actions: 'assignStats',
					description: 'Inbound media grew: restart the stall timer'
				},
				'ice.peerAlive': {
					target: 'flowing',
					reenter: true,
					description: 'The far side is alive (its heartbeat), even if it sends no media'
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
				},
				'ice.peerAlive': { target: 'flowing', actions: 'reportResumed' }
			}
		}
	}
} as const;

export const iceMachine = setup({
	// Stryker disable next-line ObjectLiteral: types only inform TypeScript
	types: {
		context: {} as IceContext,
		events: {} as IceEvent,
		input: {} as IceInput
	},
	actors: { watchIce, pollStats },
	guards: {
		// Stryker disable ConditionalExpression: each guard is only consulted for its own event type
		iceBecame: ({ context, event }, state: RTCIceConnectionState) =>
			event.type === 'pc.state' && event.ice === state && context.ice !== state,
		gatheringIs: ({ event }, state: RTCIceGatheringState) => event.type === 'pc.state' && event.gathering === state,
		mediaProgressed: ({ context, event }) =>
			event.type === 'pc.stats' && event.bytesReceived > context.bytesReceived,
		// Stryker restore ConditionalExpression
		pcClosed: ({ context }) => context.pc.signalingState === 'closed'
	},
	delays: {
		/** Inbound media and heartbeat silent this long → the call goes to `recovering`. */
		mediaStallGrace: 3000
	},
	actions: {
		// Stryker disable next-line ConditionalExpression: only ever run for pc.state
		assignPcState: assign(({ event }) =>
			event.type === 'pc.state' ? { ice: event.ice, gathering: event.gathering, connection: event.connection } : {}
		),
		assignStats: assign(({ context, event }) =>
			// Stryker disable next-line ConditionalExpression: only ever run for pc.stats
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
		countLocal: assign({ localCandidates: ({ context }) => context.localCandidates + 1 }),
		countRemote: assign({ remoteCandidates: ({ context }) => context.remoteCandidates + 1 }),
		/** Swapped in unit tests; the call machine decides what a state means for the call. */
		reportConnected: sendParent({ type: 'ice.connected' }),
		reportDisconnected: sendParent({ type: 'ice.disconnected' }),
		reportFailed: sendParent({ type: 'ice.failed' }),
		reportStalled: sendParent({ type: 'ice.stalled' }),
		reportResumed: sendParent({ type: 'ice.resumed' }),
		reportCandidateError: sendParent(({ event }) => ({
			type: 'ice.candidateError',
			message: event.type === 'pc.candidateError' ? event.message : ''
		}))
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
		framesDecoded: 0,
		localCandidates: 0,
		remoteCandidates: 0
	}),
	type: 'parallel',
	on: {
		'pc.stats': { actions: 'assignStats' },
		// Stryker disable next-line StringLiteral: descriptions only label the chart
		'pc.localCandidate': { actions: 'countLocal', description: 'Gathered: trickled to the far side' },
		// Stryker disable next-line StringLiteral: descriptions only label the chart
		'pc.remoteCandidate': { actions: 'countRemote', description: "The far side's candidate: addIceCandidate" },
		'pc.candidateError': { actions: 'reportCandidateError' }
	},
	states: {
		/** iceConnectionState. */
		connection: {
			initial: 'new',
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
					// Stryker disable next-line StringLiteral,ObjectLiteral: the context copy is only read for the stats line
					{ actions: 'assignPcState' }
				],
				'ice.close': {
					guard: 'pcClosed',
					target: '.closed',
					// Stryker disable next-line StringLiteral: descriptions only label the chart
					description: 'The call closed the pc (close() fires no state event)'
				}
			},
			states: {
				new: {},
				checking: {},
				connected: { entry: 'reportConnected', ...watchdog },
				completed: { entry: 'reportConnected', ...watchdog },
				disconnected: { entry: 'reportDisconnected' },
				failed: { entry: 'reportFailed' },
				// Stryker disable next-line ObjectLiteral,StringLiteral: the call stops this actor right after; final only marks it on the chart
				closed: { type: 'final' }
			}
		},
		/** iceGatheringState: this side's candidates being collected. */
		gathering: {
			initial: 'new',
			on: {
				'pc.state': gatheringStates.map((state) => ({
					guard: { type: 'gatheringIs' as const, params: state },
					target: `.${state}`
				}))
			},
			states: {
				new: {},
				gathering: {},
				complete: {}
			}
		}
	}
});
