// sfdx-lwc-jest has no stub for lightning/actions: the event a screen quick action fires to close.
export const CloseScreenEventName = 'lightning__actionsclosescreen';

export class CloseActionScreenEvent extends CustomEvent {
    constructor() {
        super(CloseScreenEventName, { bubbles: false, composed: false });
    }
}
