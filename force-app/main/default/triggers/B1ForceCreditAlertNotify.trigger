/**
 * Tells an account's owner and the owners of its open deals about a B1Force credit alert
 * (B1ForceNotifications).
 */
trigger B1ForceCreditAlertNotify on B1Force_Credit_Alert__e(after insert) {
    B1ForceNotifications.creditAlertsPublished(Trigger.new);
}
