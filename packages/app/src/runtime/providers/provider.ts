/** The provider port lives with the other ports in the engine; the app implements it. */
export type { ChannelProvider, InboundMessage, OutboundMessage, Receipt, ReceiptStatus, SendResult } from '@signalbox/engine';
