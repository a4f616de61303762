import { assertEvent, assign, setup } from 'xstate';
import type { DataConnection, Peer } from 'peerjs';
import { errorName, type Failure, type PhotoFailureReason } from './errors';
import { photoFailure, shotFailure, storageFailure } from './photo.errors';
import { isPhotoOffer } from './actors/photo-offer';
import {
	askAboutOffer,
	checkPhoto,
	deletePhoto,
	rememberTrash,
	photoLimits,
	replyPhoto,
	grabFrame,
	loadPhotos,
	receivePhoto,
	refusePhoto,
	savePhoto,
	sendPhoto,
	takePhoto,
	type PhotoOffer,
	type CheckedPhoto,
	type PhotoRecord,
	type ReceiveEvent,
	type RefuseReason,
	type SendEvent,
	type Shot
} from './actors/photo';

/**
 * Events from the session: `photo.stream { stream }` (the camera went live or away: the
 * session forwards capture.live / capture.failed), `photo.send { photoId, peer, to, callId }`
 * (the UI asked to send; the session adds the connected call's peer, or null when there is
 * none), `photo.incoming { conn, from, offer }` (the current call's peer offers a photo).
 * From the UI: `photo.acceptPeer` / `photo.declinePeer` (the answer to "Accept photos from …?",
 * for the rest of this call), `photo.take`, `photo.retrySave` (after a failed save: the shot is kept),
 * `photo.dismiss` (clear failures and the sent/received notices; forgets an unsaved shot), `photo.delete { id }` (hidden at once, removed for
 * good after the undo window), `photo.undoDelete` (bring back what is still in the window), `photo.reload` (the gallery
 * failed to load), `photo.cancelSend`.
 * From actors: `photo.send*` (SendEvent) and `photo.receive*` (ReceiveEvent), actors/photo.ts.
 */
export type PhotoEvent =
	| SendEvent
	| ReceiveEvent
	| { type: 'photo.stream'; stream: MediaStream | null }
	| { type: 'photo.take' }
	| { type: 'photo.acceptPeer' }
	| { type: 'photo.declinePeer' }
	| { type: 'photo.retrySave' }
	| { type: 'photo.dismiss' }
	| { type: 'photo.delete'; id: string }
	| { type: 'photo.undoDelete' }
	| { type: 'photo.reload' }
	| { type: 'photo.send'; photoId: string; peer: Peer | null; to: string | null; callId: string | null }
	| { type: 'photo.cancelSend' }
	| { type: 'photo.incoming'; conn: DataConnection; from: string; offer: PhotoOffer };

export interface Outgoing {
	photoId: string;
	to: string;
	callId: string;
	peer: Peer | null;
	sent: number;
	total: number;
}

export interface Incoming {
	from: string;
	conn: DataConnection;
	offer: PhotoOffer;
	received: number;
	total: number;
	/** Every byte, once in; then the same bytes checked and typed (checkPhoto). */
	blob: Blob | null;
	checked: CheckedPhoto | null;
}

/** What one call's peer has sent so far, and whether the person accepts photos from them. */
export interface CallPhotos {
	callId: string;
	consent: 'unasked' | 'accepted' | 'declined';
	count: number;
	bytes: number;
}

export interface PhotoContext {
	/** The live camera stream, as the session last forwarded it. */
	stream: MediaStream | null;
	/** Every saved photo, newest first (IndexedDB-backed Blobs: handles, not bytes in memory). */
	photos: PhotoRecord[];
	/** The last shot until it is saved: a failed save keeps it for a retry or a download. */
	pending: Shot | null;
	/** How many times the shutter fired: the view keys its flash on it. */
	shots: number;
	lastSaved: string | null;
	shutterFailure: Failure<PhotoFailureReason> | null;
	libraryFailure: Failure<PhotoFailureReason> | null;
	/** Deleted by the person, hidden from every view, and removed for good once the undo window
	 * passes without `photo.undoDelete`. */
	trash: string[];
	outgoing: Outgoing | null;
	sendFailure: Failure<PhotoFailureReason> | null;
	incoming: Incoming | null;
	callPhotos: CallPhotos | null;
	lastReceived: string | null;
	receiveFailure: Failure<PhotoFailureReason> | null;
}

type Done<T> = { output: T };
type Errored = { error: unknown };

type IncomingEvent = Extract<PhotoEvent, { type: 'photo.incoming' }>;

/** This call's tally for an offer: kept while the offers name the same call, new otherwise. */
function tallyFor(context: PhotoContext, event: IncomingEvent): CallPhotos {
	const tally = context.callPhotos;
	return tally && tally.callId === event.offer.callId ? tally : { callId: event.offer.callId, consent: 'unasked', count: 0, bytes: 0 };
}

function addPhoto(photos: PhotoRecord[], record: PhotoRecord): PhotoRecord[] {
	return [record, ...photos.filter((p) => p.id !== record.id)];
}

/**
 * What a photo offer meets while the inbox is free, in order: malformed → refused; over the
 * per-photo bytes → refused, and both sides told; declined in this call → refused quietly;
 * past this call's count or bytes → refused, both told; accepted in this call → received;
 * else the person is asked first.
 */
const offerRules = [
	{ guard: 'badOffer', actions: { type: 'refuseOffer', params: 'invalid' } },
	{
		guard: 'offerTooLarge',
		target: '#photo.inbox.failed',
		actions: [{ type: 'refuseOffer', params: 'too-large' }, 'tallyOffer', { type: 'noteRefusal', params: 'refused-too-large' }]
	},
	{ guard: 'declinedThisCall', actions: { type: 'refuseOffer', params: 'declined' } },
	{
		guard: 'overCallLimit',
		target: '#photo.inbox.failed',
		actions: [{ type: 'refuseOffer', params: 'limit' }, 'tallyOffer', { type: 'noteRefusal', params: 'refused-limit' }]
	},
	{ guard: 'acceptedThisCall', target: '#photo.inbox.receiving', actions: ['assignIncoming', 'countIncoming'] },
	{ target: '#photo.inbox.asking', actions: 'assignIncoming' }
] as const;

export const photoMachine = setup({
	types: {
		context: {} as PhotoContext,
		events: {} as PhotoEvent
	},
	actors: { takePhoto, grabFrame, savePhoto, loadPhotos, deletePhoto, sendPhoto, receivePhoto, askAboutOffer, checkPhoto },
	guards: {
		hasStream: ({ context }) => !!context.stream,
		badOffer: ({ event }) => {
			assertEvent(event, 'photo.incoming');
			return !isPhotoOffer(event.offer);
		},
		offerTooLarge: ({ event }) => {
			assertEvent(event, 'photo.incoming');
			return event.offer.size > photoLimits.photoBytes;
		},
		declinedThisCall: ({ context, event }) => {
			assertEvent(event, 'photo.incoming');
			return tallyFor(context, event).consent === 'declined';
		},
		overCallLimit: ({ context, event }) => {
			assertEvent(event, 'photo.incoming');
			const tally = tallyFor(context, event);
			return tally.count >= photoLimits.callPhotos || tally.bytes + event.offer.size > photoLimits.callBytes;
		},
		acceptedThisCall: ({ context, event }) => {
			assertEvent(event, 'photo.incoming');
			return tallyFor(context, event).consent === 'accepted';
		},
		hasPending: ({ context }) => !!context.pending,
		notLive: ({ event }) => shotFailure((event as unknown as Errored).error).reason === 'not-live',
		knownPhoto: ({ context, event }) => {
			assertEvent(event, 'photo.delete');
			return context.photos.some((p) => p.id === event.id) && !context.trash.includes(event.id);
		},
		sendWithoutCall: ({ event }) => {
			assertEvent(event, 'photo.send');
			return !event.peer || !event.to || !event.callId;
		},
		sendUnknownPhoto: ({ context, event }) => {
			assertEvent(event, 'photo.send');
			return !context.photos.some((p) => p.id === event.photoId);
		},
		sendTooLarge: ({ context, event }) => {
			assertEvent(event, 'photo.send');
			return (context.photos.find((p) => p.id === event.photoId)?.size ?? 0) > photoLimits.photoBytes;
		},
		allBytesOut: ({ context, event }) => {
			assertEvent(event, 'photo.sendProgress');
			return !!context.outgoing && event.sent >= context.outgoing.total;
		}
	},
	delays: {
		/** How long a deleted photo can still be brought back (the gallery's Undo). */
		undoWindow: 5_000,
		/** A camera that never delivers a frame must not keep the shutter disabled forever. */
		shotTimeout: 10_000,
		/** The receiver must open the photo connection and say "ready" (or "asking") within this. */
		connectTimeout: 10_000,
		/** How long a sender waits while the receiver's person is asked; the receiver asks for
		 * a little less, so its own "declined" normally arrives first. */
		consentWait: 65_000,
		consentTimeout: 60_000,
		/** Every byte is out: the receiver checks and stores it, then confirms, within this. */
		confirmTimeout: 60_000,
		/** No progress for this long ends a transfer (either side). */
		transferStall: 15_000
	},
	actions: {
		/** Swapped in unit tests: remembers the window's photos past a page close. */
		persistTrash: ({ context }) => rememberTrash(context.trash),
		addToTrash: assign({
			trash: ({ context, event }) => {
				assertEvent(event, 'photo.delete');
				return [...context.trash, event.id];
			}
		}),
		assignShot: assign({ pending: ({ event }) => (event as unknown as Done<Shot>).output }),
		assignShotFailure: assign({ shutterFailure: ({ event }) => shotFailure((event as unknown as Errored).error) }),
		assignSaved: assign(({ context, event }) => {
			const record = (event as unknown as Done<PhotoRecord>).output;
			return { photos: addPhoto(context.photos, record), pending: null, lastSaved: record.id, shutterFailure: null };
		}),
		assignSaveFailure: assign({ shutterFailure: ({ event }) => storageFailure((event as unknown as Errored).error) }),
		assignLoaded: assign({
			// A photo saved while the list was loading is kept (merge by id).
			photos: ({ context, event }) => {
				const loaded = (event as unknown as Done<PhotoRecord[]>).output;
				const ids = new Set(loaded.map((p) => p.id));
				return [...context.photos.filter((p) => !ids.has(p.id)), ...loaded].sort((a, b) => b.takenAt - a.takenAt);
			},
			libraryFailure: null
		}),
		assignLibraryFailure: assign({ libraryFailure: ({ event }) => storageFailure((event as unknown as Errored).error) }),
		assignOutgoing: assign(({ context, event }) => {
			assertEvent(event, 'photo.send');
			const photo = context.photos.find((p) => p.id === event.photoId);
			return {
				outgoing: {
					photoId: event.photoId,
					to: event.to ?? '',
					callId: event.callId ?? '',
					peer: event.peer,
					sent: 0,
					total: photo?.size ?? 0
				},
				sendFailure: null
			};
		}),
		assignSendProgress: assign({
			outgoing: ({ context, event }) => {
				assertEvent(event, 'photo.sendProgress');
				return { ...context.outgoing!, sent: event.sent };
			}
		}),
		assignIncoming: assign(({ context, event }) => {
			assertEvent(event, 'photo.incoming');
			return {
				incoming: { from: event.from, conn: event.conn, offer: event.offer, received: 0, total: event.offer.size, blob: null, checked: null },
				callPhotos: tallyFor(context, event),
				receiveFailure: null
			};
		}),
		/** The offer counts against this call's limits once its bytes are asked for. */
		countIncoming: assign({
			callPhotos: ({ context }) => {
				const tally = context.callPhotos!;
				return { ...tally, count: tally.count + 1, bytes: tally.bytes + context.incoming!.total };
			}
		}),
		setConsent: assign({
			callPhotos: ({ context }, consent: CallPhotos['consent']) => ({ ...context.callPhotos!, consent })
		}),
		/** Answers the offer being held (incoming) on its own connection. Swapped in unit tests. */
		replyIncoming: ({ context }, reply: 'done' | RefuseReason) =>
			replyPhoto(context.incoming?.conn, reply === 'done' ? { t: 'done' } : { t: 'refuse', why: reply }),
		assignReceiveProgress: assign({
			incoming: ({ context, event }) => {
				assertEvent(event, 'photo.receiveProgress');
				return { ...context.incoming!, received: event.received };
			}
		}),
		/** An offer turned away at once, with the reason the sender reads. Swapped in unit tests. */
		refuseOffer: ({ event }, why: RefuseReason) => {
			assertEvent(event, 'photo.incoming');
			refusePhoto(event.conn, why);
		},
		/** The person is told what was refused (the offer itself is gone). */
		noteRefusal: assign((_, reason: PhotoFailureReason) => ({ incoming: null, receiveFailure: photoFailure(reason) })),
		/** A new call's tally, kept past the refusal (a later offer of the same call counts on it). */
		tallyOffer: assign({
			callPhotos: ({ context, event }) => {
				assertEvent(event, 'photo.incoming');
				return tallyFor(context, event);
			}
		})
	}
}).createMachine({
	id: 'photo',
	type: 'parallel',
	context: {
		stream: null,
		photos: [],
		pending: null,
		shots: 0,
		lastSaved: null,
		shutterFailure: null,
		libraryFailure: null,
		trash: [],
		outgoing: null,
		sendFailure: null,
		incoming: null,
		callPhotos: null,
		lastReceived: null,
		receiveFailure: null
	},
	on: {
		'photo.stream': { actions: assign({ stream: ({ event }) => event.stream }) }
	},
	states: {
		shutter: {
			initial: 'idle',
			states: {
				idle: {
					on: { 'photo.take': { guard: 'hasStream', target: 'taking' } }
				},
				taking: {
					entry: assign({ shots: ({ context }) => context.shots + 1, pending: null, shutterFailure: null }),
					after: {
						shotTimeout: {
							target: 'failed',
							actions: assign({ shutterFailure: photoFailure('capture-failed') }),
							description: 'The camera gave no frame in time'
						}
					},
					initial: 'imageCapture',
					states: {
						imageCapture: {
							description: 'ImageCapture.takePhoto at the largest size getPhotoCapabilities() offers',
							invoke: {
								src: 'takePhoto',
								id: 'takePhoto',
								input: ({ context }) => ({ stream: context.stream }),
								onDone: { target: '#photo.shutter.saving', actions: 'assignShot' },
								onError: [
									{ guard: 'notLive', target: '#photo.shutter.failed', actions: 'assignShotFailure' },
									{
										target: 'fallback',
										description: 'No ImageCapture (Firefox, older Safari) or takePhoto failed'
									}
								]
							}
						},
						fallback: {
							description: 'grabFrame, else a <video> frame drawn on a canvas, encoded as JPEG',
							invoke: {
								src: 'grabFrame',
								id: 'grabFrame',
								input: ({ context }) => ({ stream: context.stream }),
								onDone: { target: '#photo.shutter.saving', actions: 'assignShot' },
								onError: { target: '#photo.shutter.failed', actions: 'assignShotFailure' }
							}
						}
					}
				},
				saving: {
					description: 'Thumbnail, then one IndexedDB transaction',
					invoke: {
						src: 'savePhoto',
						id: 'savePhoto',
						input: ({ context }) => ({
							blob: context.pending!.blob,
							width: context.pending!.width,
							height: context.pending!.height,
							takenAt: context.pending!.takenAt,
							method: context.pending!.method,
							source: 'camera' as const,
							from: null
						}),
						onDone: { target: 'saved', actions: 'assignSaved' },
						onError: {
							target: 'failed',
							actions: 'assignSaveFailure',
							description: 'QuotaExceededError → storage-full; the shot stays for a retry or a download'
						}
					}
				},
				saved: {
					on: { 'photo.take': { guard: 'hasStream', target: 'taking' } }
				},
				failed: {
					on: {
						'photo.take': { guard: 'hasStream', target: 'taking' },
						'photo.retrySave': { guard: 'hasPending', target: 'saving' },
						'photo.dismiss': { target: 'idle', actions: assign({ pending: null, shutterFailure: null }) }
					}
				}
			}
		},
		library: {
			initial: 'loading',
			states: {
				loading: {
					invoke: {
						src: 'loadPhotos',
						id: 'loadPhotos',
						onDone: { target: 'ready', actions: 'assignLoaded' },
						onError: { target: 'failed', actions: 'assignLibraryFailure' }
					}
				},
				ready: {
					on: {
						'photo.delete': {
							guard: 'knownPhoto',
							target: 'trashed',
							actions: ['addToTrash', assign({ libraryFailure: null }), 'persistTrash']
						}
					}
				},
				trashed: {
					description: 'Hidden, still stored: Undo brings it back until the window passes',
					after: { undoWindow: 'deleting' },
					on: {
						'photo.delete': {
							guard: 'knownPhoto',
							target: 'trashed',
							reenter: true,
							actions: ['addToTrash', 'persistTrash'],
							description: 'Another one: the window starts again for all of them'
						},
						'photo.undoDelete': { target: 'ready', actions: [assign({ trash: [] }), 'persistTrash'] }
					}
				},
				deleting: {
					invoke: {
						src: 'deletePhoto',
						id: 'deletePhoto',
						input: ({ context }) => ({ ids: context.trash }),
						onDone: {
							target: 'ready',
							actions: [assign({
								photos: ({ context }) => context.photos.filter((p) => !context.trash.includes(p.id)),
								trash: []
							}), 'persistTrash']
						},
						onError: {
							target: 'ready',
							actions: [assign({ trash: [] }), 'persistTrash', 'assignLibraryFailure'],
							description: 'The photos stay listed: they are still stored'
						}
					}
				},
				failed: {
					on: { 'photo.reload': 'loading' }
				}
			}
		},
		outbox: {
			initial: 'idle',
			states: {
				idle: {},
				sending: {
					invoke: {
						src: 'sendPhoto',
						id: 'sendPhoto',
						input: ({ context }) => {
							const out = context.outgoing!;
							const photo = context.photos.find((p) => p.id === out.photoId)!;
							return { peer: out.peer, to: out.to, callId: out.callId, photo };
						}
					},
					on: {
						'photo.cancelSend': { target: 'idle', actions: assign({ outgoing: null }) },
						'photo.sent': {
							target: 'sent',
							actions: assign({ outgoing: ({ context }) => context.outgoing && { ...context.outgoing, sent: context.outgoing.total } })
						},
						'photo.sendFailed': {
							target: 'failed',
							actions: assign({ sendFailure: ({ event }) => photoFailure(event.reason) })
						}
					},
					initial: 'connecting',
					states: {
						connecting: {
							description: 'A photo DataConnection to the call peer; waiting for its "ready"',
							after: {
								connectTimeout: {
									target: '#photo.outbox.failed',
									actions: assign({ sendFailure: photoFailure('peer-unreachable') })
								}
							},
							on: { 'photo.sendOpen': 'transferring', 'photo.sendAsking': 'awaitingConsent' }
						},
						awaitingConsent: {
							description: 'The other person is asked to accept photos from us',
							after: {
								consentWait: {
									target: '#photo.outbox.failed',
									actions: assign({ sendFailure: photoFailure('peer-declined') })
								}
							},
							on: { 'photo.sendOpen': 'transferring' }
						},
						transferring: {
							description: 'Chunks of 16 KiB, paused while bufferedAmount is above the high-water mark',
							after: {
								transferStall: {
									target: '#photo.outbox.failed',
									actions: assign({ sendFailure: photoFailure('transfer-failed') })
								}
							},
							on: {
								'photo.sendProgress': [
									{
										guard: 'allBytesOut',
										target: 'confirming',
										actions: 'assignSendProgress',
										description: 'Every byte has left the send queue'
									},
									{
										target: 'transferring',
										reenter: true,
										actions: 'assignSendProgress',
										description: 'Progress restarts the stall timer'
									}
								]
							}
						},
						confirming: {
							description: 'The receiver checks the bytes are a photo and stores it, then says "done"',
							after: {
								confirmTimeout: {
									target: '#photo.outbox.failed',
									actions: assign({ sendFailure: photoFailure('transfer-failed') })
								}
							}
						}
					}
				},
				sent: {
					on: { 'photo.dismiss': { target: 'idle', actions: assign({ outgoing: null }) } }
				},
				failed: {
					on: { 'photo.dismiss': { target: 'idle', actions: assign({ sendFailure: null, outgoing: null }) } }
				}
			},
			// Idle, sent and failed all accept a new send; sending ignores it (one at a time).
			on: {
				'photo.send': [
					{
						guard: 'sendWithoutCall',
						target: '.failed',
						actions: assign({ sendFailure: photoFailure('not-in-call') })
					},
					{
						guard: 'sendUnknownPhoto',
						target: '.failed',
						actions: assign({ sendFailure: photoFailure('not-found') })
					},
					{
						guard: 'sendTooLarge',
						target: '.failed',
						actions: assign({ sendFailure: photoFailure('too-large') })
					},
					{ target: '.sending', actions: 'assignOutgoing' }
				]
			}
		},
		inbox: {
			initial: 'idle',
			on: {
				'photo.incoming': { actions: { type: 'refuseOffer', params: 'busy' }, description: 'One offer at a time: busy' }
			},
			states: {
				idle: {
					on: { 'photo.incoming': offerRules }
				},
				asking: {
					description: 'Accept photos from this peer for this call? The sender is told "asking"',
					invoke: { src: 'askAboutOffer', id: 'askAboutOffer', input: ({ context }) => ({ conn: context.incoming!.conn }) },
					after: {
						consentTimeout: {
							target: 'idle',
							actions: [{ type: 'replyIncoming', params: 'declined' }, assign({ incoming: null })],
							description: 'No answer: refused this time, asked again with the next photo'
						}
					},
					on: {
						'photo.acceptPeer': {
							target: 'receiving',
							actions: [{ type: 'setConsent', params: 'accepted' }, 'countIncoming']
						},
						'photo.declinePeer': {
							target: 'idle',
							actions: [{ type: 'setConsent', params: 'declined' }, { type: 'replyIncoming', params: 'declined' }, assign({ incoming: null })],
							description: "Declined: this call's later offers are refused without asking"
						},
						'photo.offerWithdrawn': { target: 'idle', actions: assign({ incoming: null }), description: 'The sender gave up' }
					}
				},
				receiving: {
					invoke: {
						src: 'receivePhoto',
						id: 'receivePhoto',
						input: ({ context }) => ({ conn: context.incoming!.conn, offer: context.incoming!.offer })
					},
					on: {
						'photo.received': {
							target: 'checking',
							actions: assign({ incoming: ({ context, event }) => ({ ...context.incoming!, blob: event.blob, received: event.blob.size }) })
						},
						'photo.receiveFailed': {
							target: 'failed',
							actions: assign({ receiveFailure: photoFailure('transfer-failed') })
						}
					},
					initial: 'flowing',
					states: {
						flowing: {
							after: {
								transferStall: {
									target: '#photo.inbox.failed',
									actions: assign({ receiveFailure: photoFailure('transfer-failed') })
								}
							},
							on: {
								'photo.receiveProgress': { target: 'flowing', reenter: true, actions: 'assignReceiveProgress' }
							}
						}
					}
				},
				checking: {
					description: 'Its own bytes say what it is; within the pixel cap it must decode, at the size it declares',
					invoke: {
						src: 'checkPhoto',
						id: 'checkPhoto',
						input: ({ context }) => ({ blob: context.incoming!.blob! }),
						onDone: {
							target: 'storing',
							actions: assign({ incoming: ({ context, event }) => ({ ...context.incoming!, blob: null, checked: event.output }) })
						},
						onError: [
							{
								guard: ({ event }) => errorName(event.error) === 'TooLargeError',
								target: 'failed',
								actions: [
									{ type: 'replyIncoming', params: 'too-large' },
									assign({ receiveFailure: photoFailure('refused-too-large'), incoming: ({ context }) => ({ ...context.incoming!, blob: null }) })
								]
							},
							{
								target: 'failed',
								actions: [
									{ type: 'replyIncoming', params: 'not-image' },
									assign({ receiveFailure: photoFailure('refused-not-image'), incoming: ({ context }) => ({ ...context.incoming!, blob: null }) })
								]
							}
						]
					}
				},
				storing: {
					invoke: {
						src: 'savePhoto',
						id: 'storeReceived',
						input: ({ context }) => {
							const checked = context.incoming!.checked!;
							// Named by its detected type and arrival time: never by the sender.
							return { blob: checked.blob, width: checked.width, height: checked.height, method: null, source: 'received' as const, from: context.incoming!.from };
						},
						onDone: {
							target: 'received',
							actions: [
								{ type: 'replyIncoming', params: 'done' },
								assign(({ context, event }) => ({
									photos: addPhoto(context.photos, event.output),
									lastReceived: event.output.id,
									incoming: { ...context.incoming!, checked: null }
								}))
							]
						},
						onError: {
							target: 'failed',
							actions: [
								{ type: 'replyIncoming', params: 'not-saved' },
								assign({
									receiveFailure: ({ event }) => storageFailure(event.error),
									incoming: ({ context }) => ({ ...context.incoming!, checked: null })
								})
							]
						}
					}
				},
				received: {
					on: {
						'photo.incoming': offerRules,
						'photo.dismiss': { target: 'idle', actions: assign({ incoming: null }) }
					}
				},
				failed: {
					on: {
						'photo.incoming': offerRules,
						'photo.dismiss': { target: 'idle', actions: assign({ receiveFailure: null, incoming: null }) }
					}
				}
			}
		}
	}
});
