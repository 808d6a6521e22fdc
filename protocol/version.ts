/** The tincan wire protocol version; a client states it in its auth answer. */
export const PROTOCOL_VERSION = 1;
