/** Observes one RTCPeerConnection's ICE/connection state and its inbound media statistics. */
import { fromCallback } from 'xstate';

export type RouteType = 'host' | 'srflx' | 'prflx' | 'relay' | 'unknown';

/** `pc.state`: the pc's three state machines as they are now (sent on every change). */
export interface PcStateEvent {
	type: 'pc.state';
	ice: RTCIceConnectionState;
	gathering: RTCIceGatheringState;
	connection: RTCPeerConnectionState;
}

/** `pc.stats`: a getStats() sample, once per `statsInterval`. */
export interface PcStatsEvent {
	type: 'pc.stats';
	/** Total inbound RTP bytes (audio + video): the watchdog's sign of life. */
	bytesReceived: number;
	framesDecoded: number;
	fps: number | null;
	rttMs: number | null;
	route: RouteType | null;
}

/**
 * Trickle ICE, both ways:
 * - `pc.localCandidate { candidateType }`: this side gathered a candidate (icecandidate), which
 *   PeerJS sends to the far side.
 * - `pc.remoteCandidate { candidateType }`: a candidate from the far side was added
 *   (addIceCandidate resolved).
 * - `pc.candidateError { message }`: adding one failed.
 */
export type PcCandidateEvent =
	| { type: 'pc.localCandidate'; candidateType: string }
	| { type: 'pc.remoteCandidate'; candidateType: string }
	| { type: 'pc.candidateError'; message: string };

/** `typ host` → 'host'. */
function candidateType(candidate: string | undefined | null): string {
	return /\btyp (\w+)/.exec(candidate ?? '')?.[1] ?? 'unknown';
}

export const watchIce = fromCallback<{ type: string }, { pc: RTCPeerConnection }>(({ input, sendBack }) => {
	const { pc } = input;
	let stopped = false;
	const report = () =>
		sendBack({
			type: 'pc.state',
			ice: pc.iceConnectionState,
			gathering: pc.iceGatheringState,
			connection: pc.connectionState
		} satisfies PcStateEvent);
	const onCandidate = (e: RTCPeerConnectionIceEvent) => {
		if (e.candidate?.candidate) sendBack({ type: 'pc.localCandidate', candidateType: candidateType(e.candidate.candidate) } satisfies PcCandidateEvent);
	};
	// The far side's candidates reach the pc only through addIceCandidate, which PeerJS calls:
	// observe it on this instance (the prototype's method stays as it is) and undo on cleanup.
	const add = pc.addIceCandidate as (candidate?: RTCIceCandidateInit) => Promise<void>;
	const own = Object.prototype.hasOwnProperty.call(pc, 'addIceCandidate');
	pc.addIceCandidate = function (this: RTCPeerConnection, candidate?: RTCIceCandidateInit | null) {
		return add.call(pc, candidate ?? undefined).then(
			() => {
				if (!stopped && candidate?.candidate) {
					sendBack({ type: 'pc.remoteCandidate', candidateType: candidateType(candidate.candidate) } satisfies PcCandidateEvent);
				}
			},
			(err: Error) => {
				if (!stopped) sendBack({ type: 'pc.candidateError', message: String(err?.message ?? err) } satisfies PcCandidateEvent);
				throw err;
			}
		);
	} as RTCPeerConnection['addIceCandidate'];
	pc.addEventListener('iceconnectionstatechange', report);
	pc.addEventListener('icegatheringstatechange', report);
	pc.addEventListener('connectionstatechange', report);
	pc.addEventListener('icecandidate', onCandidate);
	report();
	return () => {
		stopped = true;
		if (own) pc.addIceCandidate = add as RTCPeerConnection['addIceCandidate'];
		else delete (pc as Partial<RTCPeerConnection>).addIceCandidate;
		pc.removeEventListener('iceconnectionstatechange', report);
		pc.removeEventListener('icegatheringstatechange', report);
		pc.removeEventListener('connectionstatechange', report);
		pc.removeEventListener('icecandidate', onCandidate);
	};
});

export async function sampleStats(pc: RTCPeerConnection): Promise<PcStatsEvent> {
	const stats = await pc.getStats();
	let bytesReceived = 0;
	let framesDecoded = 0;
	let fps: number | null = null;
	let rttMs: number | null = null;
	let route: RouteType | null = null;
	let pairId: string | undefined;
	const byId = new Map<string, Record<string, unknown>>();
	stats.forEach((raw) => {
		const s = raw as Record<string, unknown> & { type: string; id: string };
		byId.set(s.id, s);
		if (s.type === 'inbound-rtp') {
			bytesReceived += Number(s.bytesReceived ?? 0);
			if (s.kind === 'video') {
				framesDecoded += Number(s.framesDecoded ?? 0);
				if (typeof s.framesPerSecond === 'number') fps = s.framesPerSecond;
			}
		}
		if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') pairId = s.selectedCandidatePairId;
	});
	if (!pairId) {
		stats.forEach((raw) => {
			const s = raw as Record<string, unknown> & { type: string; id: string };
			if (s.type === 'candidate-pair' && s.state === 'succeeded' && s.nominated) pairId = s.id;
		});
	}
	const pair = pairId ? byId.get(pairId) : undefined;
	if (pair) {
		if (typeof pair.currentRoundTripTime === 'number') rttMs = Math.round(pair.currentRoundTripTime * 1000);
		const local = byId.get(String(pair.localCandidateId));
		const remote = byId.get(String(pair.remoteCandidateId));
		const types = [local?.candidateType, remote?.candidateType].map(String);
		route = types.includes('relay') ? 'relay' : types.includes('srflx') ? 'srflx' : types.includes('prflx') ? 'prflx' : types[0] === 'host' ? 'host' : 'unknown';
	}
	return { type: 'pc.stats', bytesReceived, framesDecoded, fps, rttMs, route };
}

export const pollStats = fromCallback<{ type: string }, { pc: RTCPeerConnection; intervalMs: number }>(
	({ input, sendBack }) => {
		let stopped = false;
		const tick = () => {
			if (input.pc.signalingState === 'closed') return;
			sampleStats(input.pc).then(
				(e) => {
					if (!stopped) sendBack(e);
				},
				() => {}
			);
		};
		// No sample at once: a new pc has no media yet, and getStats() then would compete with
		// the offer/answer and ICE checks that decide how soon the call connects.
		const timer = setInterval(tick, input.intervalMs);
		return () => {
			stopped = true;
			clearInterval(timer);
		};
	}
);
