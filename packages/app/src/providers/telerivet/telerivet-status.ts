/** Telerivet message statuses as our receipts (the others are steps on the way). */
export function telerivetReceipt(status: string): 'delivered' | 'read' | 'undelivered' | 'failed' | null {
  switch (status) {
    case 'delivered':
      return 'delivered';
    case 'read':
      return 'read';
    case 'not_delivered':
      return 'undelivered';
    case 'failed':
    case 'failed_queued':
    case 'cancelled':
      return 'failed';
    default:
      return null;
  }
}
