/**
 * The safety code two people read to each other in a call (issue 16): derived from both
 * sides' DTLS certificate fingerprints, so a relay that swapped keys in the middle gives each
 * side a different code. Loaded when a call starts (safety.machine.ts imports it).
 *
 * Rule (both sides, and any independent check, must agree): the `a=fingerprint:` value (the
 * text after the colon, trimmed) of the pc's local and remote SDP; the two sorted in plain
 * code-unit order, joined with `\n`, SHA-256 of the UTF-8 bytes; the first 8 bytes as a
 * big-endian unsigned integer, mod 10^12, zero-padded to 12 digits, in groups of four.
 */
import { fromPromise } from 'xstate';

/** An SDP longer than this is not read (the signaling server allows 64 KB). */
const maxSdpChars = 256 * 1024;
/** `sha-256 AB:CD:…`: a hash name and hex pairs; sha-512 is 191 characters. */
const fingerprintPattern = /^[A-Za-z0-9-]{1,16} [0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){15,63}$/;

/** The first `a=fingerprint:` value of an SDP, trimmed, or null when there is none that looks
 * like one (the remote SDP came through a server that may be anyone's). */
export function fingerprintOf(sdp: unknown): string | null {
	if (typeof sdp !== 'string' || sdp.length > maxSdpChars) return null;
	for (const line of sdp.split(/\r?\n/)) {
		if (!line.startsWith('a=fingerprint:')) continue;
		const value = line.slice('a=fingerprint:'.length).trim();
		return fingerprintPattern.test(value) ? value : null;
	}
	return null;
}

/** `012345678901` → `0123 4567 8901`. */
export function groupCode(digits: string): string {
	return digits.replace(/(\d{4})(?=\d)/g, '$1 ');
}

/** The code for two fingerprints: the same whichever side is local. */
export async function safetyCode(a: string, b: string): Promise<string> {
	const joined = [a, b].sort().join('\n');
	const hash = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(joined));
	const n = new DataView(hash).getBigUint64(0) % 10n ** 12n;
	return groupCode(n.toString().padStart(12, '0'));
}

/** Why no code could be made: a description is missing, or has no fingerprint. */
export class SafetyCodeError extends Error {
	constructor(readonly reason: 'no-description' | 'no-fingerprint') {
		super(reason === 'no-description' ? 'The call has no offer and answer yet.' : 'A description carries no DTLS fingerprint.');
		this.name = 'SafetyCodeError';
	}
}

/** The code of a pc whose offer and answer are both set. */
export async function safetyCodeOf(pc: Pick<RTCPeerConnection, 'localDescription' | 'remoteDescription'>): Promise<string> {
	const local = pc.localDescription?.sdp;
	const remote = pc.remoteDescription?.sdp;
	if (!local || !remote) throw new SafetyCodeError('no-description');
	const a = fingerprintOf(local);
	const b = fingerprintOf(remote);
	if (!a || !b) throw new SafetyCodeError('no-fingerprint');
	return safetyCode(a, b);
}

export const computeSafetyCode = fromPromise<string, { pc: RTCPeerConnection | null }>(({ input }) =>
	input.pc ? safetyCodeOf(input.pc) : Promise.reject(new SafetyCodeError('no-description'))
);
