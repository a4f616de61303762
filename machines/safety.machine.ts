import { assign, sendTo, setup } from 'xstate';
import { computeSafetyCode, SafetyCodeError } from './actors/safety-code';
import { verifiedStore } from './actors/verified';

export interface SafetyInput {
	/** The far side's peer ID: verified codes are kept per contact. */
	remoteId: string;
}

/**
 * Events from the call: `safety.check { pc }` (the call is connected on this pc, whose offer and
 * answer are both set: compute its code; again after a recovery's re-dial).
 * From the UI: `safety.verify` (the two people read the same code: keep it with the contact),
 * `safety.unverify` (forget it).
 * From the store (`verifiedStore`): `safety.saved { code }`, the code verified with this
 * contact before, or null.
 */
export type SafetyEvent =
	| { type: 'safety.check'; pc: RTCPeerConnection | null }
	| { type: 'safety.verify' }
	| { type: 'safety.unverify' }
	| { type: 'safety.saved'; code: string | null };

export interface SafetyContext {
	remoteId: string;
	/** This call's code, `dddd dddd dddd`, once computed. */
	code: string | null;
	/** The code verified with this contact (saved), or null. */
	saved: string | null;
	/** Why no code could be made (SafetyCodeError's reason). */
	failure: 'no-description' | 'no-fingerprint' | null;
}

export const safetyMachine = setup({
	types: {
		context: {} as SafetyContext,
		events: {} as SafetyEvent,
		input: {} as SafetyInput
	},
	actors: { computeSafetyCode, verifiedStore },
	guards: {
		savedMatches: ({ context }) => !!context.saved && context.saved === context.code,
		savedDiffers: ({ context }) => !!context.saved && context.saved !== context.code
	},
	actions: {
		keepCode: assign({ saved: ({ context }) => context.code }),
		forgetCode: assign({ saved: null }),
		store: sendTo('store', ({ context }) => ({ type: 'safety.store' as const, code: context.saved }))
	}
}).createMachine({
	id: 'safety',
	context: ({ input }) => ({ remoteId: input.remoteId, code: null, saved: null, failure: null }),
	invoke: { src: 'verifiedStore', id: 'store', input: ({ context }) => ({ remoteId: context.remoteId }) },
	on: {
		'safety.saved': { actions: assign({ saved: ({ event }) => event.code }) },
		'safety.check': { target: '.computing', reenter: true, description: 'Connected (again): the code of this pc' }
	},
	initial: 'waiting',
	states: {
		waiting: { description: 'The call is not connected yet' },
		computing: {
			description: 'SHA-256 of both DTLS fingerprints from the offer and answer',
			invoke: {
				src: 'computeSafetyCode',
				input: ({ event }) => ({ pc: event.type === 'safety.check' ? event.pc : null }),
				onDone: { target: 'shown', actions: assign({ code: ({ event }) => event.output, failure: null }) },
				onError: {
					target: 'failed',
					actions: assign({
						code: null,
						failure: ({ event }) => (event.error instanceof SafetyCodeError ? event.error.reason : 'no-fingerprint')
					})
				}
			}
		},
		shown: {
			initial: 'unverified',
			states: {
				unverified: {
					always: [
						{ guard: 'savedMatches', target: 'verified' },
						{
							guard: 'savedDiffers',
							target: 'changed',
							description: 'Another code was verified with this contact: say so, never block the call'
						}
					],
					on: { 'safety.verify': { target: 'verified', actions: ['keepCode', 'store'] } }
				},
				verified: {
					on: { 'safety.unverify': { target: 'unverified', actions: ['forgetCode', 'store'] } }
				},
				changed: {
					description: 'Their code differs from the one verified before (a new device, or someone in the middle)',
					on: { 'safety.verify': { target: 'verified', actions: ['keepCode', 'store'], description: 'Compared again: this code replaces the old one' } }
				}
			}
		},
		failed: { description: 'No code: a description has no fingerprint' }
	}
});
