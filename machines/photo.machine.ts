import { assign, setup } from 'xstate';
import type { DataConnection, Peer } from 'peerjs';
import type { Failure, PhotoFailureReason } from './errors';
import { photoFailure, shotFailure, storageFailure } from './photo.errors';
import { isPhotoOffer } from './actors/photo-offer';
import {
	deletePhoto,
	grabFrame,
	loadPhotos,
	receivePhoto,
	refusePhoto,
	savePhoto,
	sendPhoto,
	takePhoto,
	type PhotoOffer,
	type PhotoRecord,
	type ReceiveEvent,
	type SendEvent,
	type Shot
} from './actors/photo';

/**
 * Events from the session: `photo.stream { stream }` (the camera went live or away: the
 * session forwards capture.live / capture.failed), `photo.send { photoId, peer, to, callId }`
 * (the UI asked to send; the session adds the connected call's peer, or null when there is
 * none), `photo.incoming { conn, from, offer }` (the current call's peer offers a photo).
 * From the UI: `photo.take`, `photo.retrySave` (after a failed save: the shot is kept),
 * `photo.dismiss` (clear failures and the sent/received notices; forgets an unsaved shot), `photo.delete { id }`, `photo.reload` (the gallery
 * failed to load), `photo.cancelSend`.
 * From actors: `photo.send*` (SendEvent) and `photo.receive*` (ReceiveEvent), actors/photo.ts.
 */
export type PhotoEvent =
	| SendEvent
	| ReceiveEvent
	| { type: 'photo.stream'; stream: MediaStream | null }
	| { type: 'photo.take' }
	| { type: 'photo.retrySave' }
	| { type: 'photo.dismiss' }
	| { type: 'photo.delete'; id: string }
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
	name: string;
	conn: DataConnection;
	offer: PhotoOffer;
	received: number;
	total: number;
	blob: Blob | null;
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
	deleting: string | null;
	outgoing: Outgoing | null;
	sendFailure: Failure<PhotoFailureReason> | null;
	incoming: Incoming | null;
	lastReceived: string | null;
	receiveFailure: Failure<PhotoFailureReason> | null;
}

type Done<T> = { output: T };
type Errored = { error: unknown };

function addPhoto(photos: PhotoRecord[], record: PhotoRecord): PhotoRecord[] {
	return [record, ...photos.filter((p) => p.id !== record.id)];
}

export const photoMachine = setup({
	types: {
		context: {} as PhotoContext,
		events: {} as PhotoEvent
	},
	actors: { takePhoto, grabFrame, savePhoto, loadPhotos, deletePhoto, sendPhoto, receivePhoto },
	guards: {
		hasStream: ({ context }) => !!context.stream,
		badOffer: ({ event }) => event.type === 'photo.incoming' && !isPhotoOffer(event.offer),
		hasPending: ({ context }) => !!context.pending,
		notLive: ({ event }) => shotFailure((event as unknown as Errored).error).reason === 'not-live',
		knownPhoto: ({ context, event }) => event.type === 'photo.delete' && context.photos.some((p) => p.id === event.id),
		sendWithoutCall: ({ event }) => event.type === 'photo.send' && (!event.peer || !event.to || !event.callId),
		sendUnknownPhoto: ({ context, event }) =>
			event.type === 'photo.send' && !context.photos.some((p) => p.id === event.photoId)
	},
	delays: {
		/** A camera that never delivers a frame must not keep the shutter disabled forever. */
		shotTimeout: 10_000,
		/** The receiver must open the photo connection and say "ready" within this. */
		connectTimeout: 10_000,
		/** No progress for this long ends a transfer (either side). */
		transferStall: 15_000
	},
	actions: {
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
			if (event.type !== 'photo.send') return {};
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
			outgoing: ({ context, event }) =>
				context.outgoing && event.type === 'photo.sendProgress' ? { ...context.outgoing, sent: event.sent } : context.outgoing
		}),
		assignIncoming: assign(({ event }) => {
			if (event.type !== 'photo.incoming') return {};
			return {
				incoming: {
					from: event.from,
					name: event.offer.name,
					conn: event.conn,
					offer: event.offer,
					received: 0,
					total: event.offer.size,
					blob: null
				},
				receiveFailure: null
			};
		}),
		assignReceiveProgress: assign({
			incoming: ({ context, event }) =>
				context.incoming && event.type === 'photo.receiveProgress' ? { ...context.incoming, received: event.received } : context.incoming
		}),
		/** Busy receiving another photo: the sender is told "refuse". Swapped in unit tests. */
		refuseIncoming: ({ event }) => {
			if (event.type === 'photo.incoming') refusePhoto(event.conn);
		}
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
		deleting: null,
		outgoing: null,
		sendFailure: null,
		incoming: null,
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
							target: 'deleting',
							actions: assign({ deleting: ({ event }) => event.id, libraryFailure: null })
						}
					}
				},
				deleting: {
					invoke: {
						src: 'deletePhoto',
						id: 'deletePhoto',
						input: ({ context }) => ({ id: context.deleting! }),
						onDone: {
							target: 'ready',
							actions: assign({
								photos: ({ context }) => context.photos.filter((p) => p.id !== context.deleting),
								deleting: null
							})
						},
						onError: {
							target: 'ready',
							actions: [assign({ deleting: null }), 'assignLibraryFailure'],
							description: 'The photo stays listed: it is still stored'
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
								'photo.sendProgress': {
									target: 'transferring',
									reenter: true,
									actions: 'assignSendProgress',
									description: 'Progress restarts the stall timer'
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
					{ target: '.sending', actions: 'assignOutgoing' }
				]
			}
		},
		inbox: {
			initial: 'idle',
			on: {
				'photo.incoming': { actions: 'refuseIncoming', description: 'Already receiving one: refuse' }
			},
			states: {
				idle: {
					on: {
						'photo.incoming': [
							{ guard: 'badOffer', actions: 'refuseIncoming', description: 'Too large, not an image, or malformed' },
							{ target: 'receiving', actions: 'assignIncoming' }
						]
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
							target: 'storing',
							actions: assign({ incoming: ({ context, event }) => context.incoming && { ...context.incoming, blob: event.blob, received: event.blob.size } })
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
				storing: {
					invoke: {
						src: 'savePhoto',
						id: 'storeReceived',
						input: ({ context }) => ({
							blob: context.incoming!.blob!,
							method: null,
							source: 'received' as const,
							from: context.incoming!.from,
							name: context.incoming!.name
						}),
						onDone: {
							target: 'received',
							actions: assign(({ context, event }) => ({
								photos: addPhoto(context.photos, event.output),
								lastReceived: event.output.id,
								incoming: context.incoming && { ...context.incoming, blob: null }
							}))
						},
						onError: {
							target: 'failed',
							actions: assign({
								receiveFailure: ({ event }) => storageFailure(event.error),
								incoming: ({ context }) => context.incoming && { ...context.incoming, blob: null }
							})
						}
					}
				},
				received: {
					on: {
						'photo.incoming': [
							{ guard: 'badOffer', actions: 'refuseIncoming' },
							{ target: 'receiving', actions: 'assignIncoming' }
						],
						'photo.dismiss': { target: 'idle', actions: assign({ incoming: null }) }
					}
				},
				failed: {
					on: {
						'photo.incoming': [
							{ guard: 'badOffer', actions: 'refuseIncoming' },
							{ target: 'receiving', actions: 'assignIncoming' }
						],
						'photo.dismiss': { target: 'idle', actions: assign({ receiveFailure: null, incoming: null }) }
					}
				}
			}
		}
	}
});
