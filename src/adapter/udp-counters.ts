/**
 * What the UDP path did, as plain monotonically increasing numbers: one mutable object shared by
 * the inbound, the association table and the reply sockets, read by logs now and metrics later.
 */
export interface UdpCounters {
  /** Datagrams from local applications, and those forwarded to an upstream relay. */
  datagramsIn: number;
  datagramsOut: number;
  /** Datagrams from relays, and those delivered to applications. */
  repliesIn: number;
  repliesOut: number;
  /** Of those, the datagrams and replies the addon carried on its own (established pairs: udp-fast.c). */
  datagramsFastPath: number;
  associationsOpened: number;
  associationsFailed: number;
  associationsClosed: number;
  /** Closed to make room (LRU) and for being idle. */
  associationsEvicted: number;
  associationsExpired: number;
  droppedQueueFull: number;
  /** From a new client while udp.max_pending_associations associations were already opening. */
  droppedPendingLimit: number;
  /** A route rule said reject. */
  droppedRejected: number;
  droppedNoUdp: number;
  droppedAssociationFailed: number;
  droppedNoDestination: number;
  /** Sent to a fake-IP pool address that no name holds. */
  droppedNoMapping: number;
  droppedLoop: number;
  droppedFragmented: number;
  /** Sent to a proxy-inbound UDP ASSOCIATE's socket by someone other than its client. */
  droppedForeignSource: number;
  droppedMalformed: number;
  droppedUnresolvable: number;
  droppedSendError: number;
  replySocketsOpened: number;
  replySocketsEvicted: number;
  replySocketsExpired: number;
  replySocketErrors: number;
}

export function createUdpCounters(): UdpCounters {
  return {
    datagramsIn: 0,
    datagramsOut: 0,
    repliesIn: 0,
    repliesOut: 0,
    datagramsFastPath: 0,
    associationsOpened: 0,
    associationsFailed: 0,
    associationsClosed: 0,
    associationsEvicted: 0,
    associationsExpired: 0,
    droppedQueueFull: 0,
    droppedPendingLimit: 0,
    droppedRejected: 0,
    droppedNoUdp: 0,
    droppedAssociationFailed: 0,
    droppedNoDestination: 0,
    droppedNoMapping: 0,
    droppedLoop: 0,
    droppedFragmented: 0,
    droppedForeignSource: 0,
    droppedMalformed: 0,
    droppedUnresolvable: 0,
    droppedSendError: 0,
    replySocketsOpened: 0,
    replySocketsEvicted: 0,
    replySocketsExpired: 0,
    replySocketErrors: 0,
  };
}
