/**
 * Tells B1Force that quotes changed in a way the quote flow acts on (F1 quote_statuses): created,
 * or their status, sync, total or expiration date changed. B1Force re-reads each quote and sends
 * the opportunity's synced quote in a trigger status to SAP as a sales quotation. Its own
 * write-back (the SAP_* fields) changes none of these, so it does not come back as work.
 */
trigger B1ForceQuoteNotify on Quote(after insert, after update) {
    List<Id> changed = new List<Id>();
    for (Quote quote : Trigger.new) {
        Quote before = Trigger.isUpdate ? Trigger.oldMap.get(quote.Id) : null;
        if (B1ForceQuoteNotifications.concernsB1Force(quote, before)) {
            changed.add(quote.Id);
        }
    }
    B1ForceQuoteNotifications.notify(changed);
}
