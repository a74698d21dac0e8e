// Branded ids: numbers that are easy to mix up get distinct types (STYLE.md "Names").
// Every layer may import this file; it imports nothing.

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** RTP synchronisation source, 32 bits. */
export type Ssrc = Brand<number, 'Ssrc'>;
/** Content key id (u32). The SRTP MKI carries its low `mkiLengthBytes` bytes, big-endian. */
export type KeyId = Brand<number, 'KeyId'>;
/** Enrolled client (receiver or sender), u32, assigned by the key server. */
export type ClientId = Brand<number, 'ClientId'>;
export type ServiceId = Brand<number, 'ServiceId'>;
export type ProgrammeId = Brand<number, 'ProgrammeId'>;
/** Programme segment number, counted from 0 at the programme's first content key. */
export type SegmentIndex = Brand<number, 'SegmentIndex'>;

export const asSsrc = (n: number): Ssrc => n as Ssrc;
export const asKeyId = (n: number): KeyId => n as KeyId;
export const asClientId = (n: number): ClientId => n as ClientId;
export const asServiceId = (n: number): ServiceId => n as ServiceId;
export const asProgrammeId = (n: number): ProgrammeId => n as ProgrammeId;
export const asSegmentIndex = (n: number): SegmentIndex => n as SegmentIndex;
