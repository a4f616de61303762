// Re-exports only `Peer`: `import('peerjs')` as a whole pulls in msgpack (+8 KB gzip). The guard
// every new Peer gets travels with it, out of the first load.
export { Peer } from 'peerjs';
export type { DataConnection, MediaConnection, PeerError } from 'peerjs';
export { guardPeer } from './peer-guard';
