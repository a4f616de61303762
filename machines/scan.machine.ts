import { assertEvent, assign, setup } from 'xstate';
import { readCodes, type ReadCodesEvent } from './actors/scan';
import { validatePeerId, type DialError } from './peer-id';

/**
 * Scan to call: reads a CamCall share link or a bare ID from a QR code on the current camera.
 * Its code (and the decoder's) loads when the scanner opens. What is read is checked exactly as
 * a pasted link is (validatePeerId): a QR code with another URL, or anything that is no ID, is
 * refused with a message and scanning goes on; the field is only ever filled with a valid ID.
 *
 * Events:
 * - `scan.stream { stream }`: the camera's live stream, or null while it is not live (opening,
 *   flipping to the back camera, failed).
 * - `scan.decoded { text }` / `scan.unavailable` (ReadCodesEvent): from the reader.
 * - `scan.retry`: from `failed`, try again.
 * - `scan.cancel`: the user closed the scanner.
 */
export type ScanEvent =
	| { type: 'scan.stream'; stream: MediaStream | null }
	| { type: 'scan.retry' }
	| { type: 'scan.cancel' }
	| ReadCodesEvent;

/** Why the scanner failed: `unavailable` (no way to read QR codes here: the decoder's code
 * would not load, e.g. offline before it was cached). */
export type ScanFailureReason = 'unavailable';

/** A refused code: what it said (shortened, shown as text), and why. */
export interface ScanRejection {
	text: string;
	reason: DialError;
}

export interface ScanContext {
	stream: MediaStream | null;
	/** The ID read, once found. */
	id: string | null;
	rejected: ScanRejection | null;
	failure: ScanFailureReason | null;
}

export interface ScanOutput {
	id: string;
}

/** Long enough to recognise a URL, short enough for a phone's status line. */
const shownChars = 80;

export const scanMachine = setup({
	// Stryker disable next-line ObjectLiteral: types only inform TypeScript
	types: {
		context: {} as ScanContext,
		events: {} as ScanEvent,
		input: {} as { stream: MediaStream | null },
		output: {} as ScanOutput | null
	},
	actors: { readCodes },
	guards: {
		hasStream: ({ context }) => !!context.stream,
		callable: ({ event }) => {
			assertEvent(event, 'scan.decoded');
			return validatePeerId(event.text).ok;
		}
	},
	actions: {
		assignStream: assign({
			stream: ({ event }) => {
				assertEvent(event, 'scan.stream');
				return event.stream;
			}
		}),
		assignFound: assign(({ event }) => {
			assertEvent(event, 'scan.decoded');
			const result = validatePeerId(event.text);
			return { id: result.ok ? result.id : null, rejected: null };
		}),
		assignRejected: assign({
			rejected: ({ event }) => {
				assertEvent(event, 'scan.decoded');
				const result = validatePeerId(event.text);
				const text = event.text.trim();
				return {
					text: text.length > shownChars ? `${text.slice(0, shownChars - 1)}…` : text,
					// Stryker disable next-line StringLiteral: unreachable, `callable` refused this text
					reason: result.ok ? 'invalid' : result.reason
				};
			}
		})
	}
}).createMachine({
	id: 'scan',
	context: ({ input }) => ({ stream: input?.stream ?? null, id: null, rejected: null, failure: null }),
	initial: 'opening',
	on: {
		'scan.cancel': '.cancelled'
	},
	states: {
		opening: {
			// Stryker disable next-line StringLiteral: descriptions only label the chart
			description: 'Waiting for a live camera (starting it, or flipping to the back camera)',
			always: { guard: 'hasStream', target: 'scanning' },
			on: { 'scan.stream': { actions: 'assignStream' } }
		},
		scanning: {
			invoke: {
				src: 'readCodes',
				// Stryker disable next-line StringLiteral: nothing addresses an invoked actor by id
				id: 'readCodes',
				input: ({ context }) => ({ stream: context.stream })
			},
			on: {
				'scan.decoded': [
					{ guard: 'callable', target: 'found', actions: 'assignFound' },
					{
						actions: 'assignRejected',
						// Stryker disable next-line StringLiteral: descriptions only label the chart
						description: 'Another URL, or no ID: say so and keep scanning'
					}
				],
				'scan.stream': {
					target: 'opening',
					actions: 'assignStream',
					// Stryker disable next-line StringLiteral: descriptions only label the chart
					description: 'The camera changed (a flip) or went away: read the new one'
				},
				'scan.unavailable': { target: 'failed', actions: assign({ failure: 'unavailable' }) }
			}
		},
		found: {
			type: 'final'
		},
		failed: {
			on: {
				'scan.retry': { target: 'opening', actions: assign({ failure: null }) },
				'scan.stream': { actions: 'assignStream' }
			}
		},
		cancelled: {
			type: 'final'
		}
	},
	output: ({ context }) => (context.id ? { id: context.id } : null)
});
