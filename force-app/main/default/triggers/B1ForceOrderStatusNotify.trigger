/**
 * Tells a deal's owner when B1Force writes its SAP order status back (B1ForceNotifications).
 */
trigger B1ForceOrderStatusNotify on Opportunity(after update) {
    B1ForceNotifications.orderStatusChanged(Trigger.new, Trigger.oldMap);
}
